variable "name_prefix" {
  description = "Lowercase prefix of the bucket name (3-24 characters: a-z, 0-9, '-'; starts with a letter)."
  type        = string
}

variable "bucket_name_suffix" {
  description = "Optional fixed suffix for a predictable name (\"<name_prefix>-web-<suffix>\"). null (default): the provider generates a unique name from the prefix."
  type        = string
  default     = null
}

variable "source_dir" {
  description = "Folder whose files are uploaded as the site (every file, recursively, except hidden files and a local config.json)."
  type        = string
}

variable "delivery" {
  description = "How browsers reach the page. Allowed: cloudfront (private bucket, all Block Public Access flags on, s3:GetObject only for cloudfront_distribution_arn through origin access control, TLS only), s3-website (public-read policy and the plain-HTTP S3 website endpoint)."
  type        = string
  default     = "cloudfront"

  validation {
    condition     = contains(["cloudfront", "s3-website"], var.delivery)
    error_message = "delivery must be one of: cloudfront, s3-website."
  }
}

variable "cloudfront_distribution_arn" {
  description = "ARN of the CloudFront distribution allowed to read the bucket (aws:SourceArn); required with delivery = \"cloudfront\", ignored otherwise."
  type        = string
  default     = null
}

variable "config" {
  description = "Object written as config.json next to index.html (Cache-Control: no-cache)."
  type        = any
}

variable "index_document" {
  description = "Index document of the static website."
  type        = string
  default     = "index.html"
}

variable "content_types" {
  description = "Extra or overriding Content-Type values by lowercase file extension (without the dot)."
  type        = map(string)
  default     = {}
}

variable "cache_control" {
  description = "Cache-Control of page files other than .html and config.json (which are always no-cache)."
  type        = string
  default     = "public, max-age=300"
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete the bucket with its objects."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for the bucket."
  type        = map(string)
  default     = {}
}
