variable "name_prefix" {
  description = "Lowercase prefix of the bucket names (3-24 characters: a-z, 0-9, '-'; starts with a letter)."
  type        = string
}

variable "bucket_name_suffix" {
  description = "Optional fixed suffix for globally unique, predictable names (\"<name_prefix>-uploads-<suffix>\"). null (default) lets AWS-provider generate a unique name from the prefix (bucket_prefix)."
  type        = string
  default     = null
}

variable "upload_prefix" {
  description = "Key prefix under which the browser uploads originals; must end with '/'."
  type        = string
  default     = "uploads/"
}

variable "upload_cors_allowed_origins" {
  description = "Exact origins (scheme://host[:port]) allowed to PUT to the upload bucket with presigned URLs. Empty list: no CORS rule."
  type        = list(string)
  default     = []
}

variable "upload_cors_allowed_headers" {
  description = "Request headers the browser may send with the presigned PUT (and a multipart part's PUT: its signed SHA-256 checksum)."
  type        = list(string)
  default     = ["content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"]
}

variable "output_cors_allowed_origins" {
  description = "Exact origins allowed to GET variants from the output bucket with fetch()/XHR. Empty list: no CORS rule."
  type        = list(string)
  default     = []
}

variable "cors_max_age_seconds" {
  description = "How long browsers may cache a CORS preflight answer (0-86400 seconds)."
  type        = number
  default     = 3000

  validation {
    condition     = var.cors_max_age_seconds >= 0 && var.cors_max_age_seconds <= 86400 && floor(var.cors_max_age_seconds) == var.cors_max_age_seconds
    error_message = "cors_max_age_seconds must be an integer between 0 and 86400."
  }
}

variable "upload_retention_days" {
  description = "Days after which originals under upload_prefix expire from the upload bucket (1-36500); null: never (with sign-in, until the owner deletes the upload)."
  type        = number
  default     = 30
}

variable "original_archive_days" {
  description = "Days after which originals move to original_archive_storage_class (S3 needs >= 30 for STANDARD_IA); null: they stay in S3 Standard. Only applied when originals live at least this plus the class's minimum storage duration (GLACIER_IR 90 days, STANDARD_IA 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.original_archive_days == null || try(var.original_archive_days >= 0 && floor(var.original_archive_days) == var.original_archive_days, false)
    error_message = "original_archive_days must be null or an integer >= 0."
  }
}

variable "original_archive_storage_class" {
  description = "Colder storage class of archived originals; both read instantly (no restore): GLACIER_IR (default: cheapest to keep, $0.03/GB read, 90-day minimum) or STANDARD_IA ($0.01/GB read, 30-day minimum)."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["GLACIER_IR", "STANDARD_IA"], var.original_archive_storage_class)
    error_message = "original_archive_storage_class must be one of: GLACIER_IR, STANDARD_IA."
  }

  validation {
    condition     = var.original_archive_storage_class != "STANDARD_IA" || var.original_archive_days == null || try(var.original_archive_days >= 30, false)
    error_message = "S3 moves objects to STANDARD_IA only 30 days or more after creation: set original_archive_days >= 30 (or use GLACIER_IR)."
  }
}

variable "output_expiration_days" {
  description = "Days after which variants and manifests expire from the output bucket; null keeps them for ever."
  type        = number
  default     = null
}

variable "output_cloudfront_reader" {
  description = "The CloudFront distribution that serves the output bucket through origin access control, as { distribution_arn }: the bucket policy lets only it read objects. null (default): no reader but the stack's roles (presigned GETs). An object, so whether it is set is known at plan time even while the ARN is not."
  type = object({
    distribution_arn = string
  })
  default = null
}

variable "kms_key_arn" {
  description = "Optional customer-managed KMS key ARN for default encryption (SSE-KMS with an S3 Bucket Key). null (default) uses SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (objects are lost). Keep false for real data."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for the buckets (merged over the provider's default_tags)."
  type        = map(string)
  default     = {}
}
