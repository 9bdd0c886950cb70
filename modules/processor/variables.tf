variable "name" {
  description = "Name of the processor function; the layer is \"<name>-pillow\" and the DLQ \"<name>-dlq\" (1-56 characters: letters, digits, '-' and '_')."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1-56 characters of letters, digits, '-' or '_'."
  }
}

variable "role_name" {
  description = "Name of the function's execution role; null: the function name."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Path to processor.zip built by build.sh."
  type        = string
}

variable "layer_package_path" {
  description = "Path to pillow-layer-<architecture>.zip built by build.sh."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function and its layer. Allowed: x86_64, arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be one of: x86_64, arm64."
  }
}

variable "memory_size" {
  description = "Memory of the processor in MB (128-10240). CPU scales with memory: 1024+ keeps resizing fast."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be an integer between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the processor in seconds (1-900)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be an integer between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the processor (caps parallel resizes and cost); null (default): unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or an integer >= 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the function. Allowed: DEBUG, INFO, WARNING, ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of: DEBUG, INFO, WARNING, ERROR."
  }
}

variable "upload_bucket_id" {
  description = "Name of the upload bucket whose ObjectCreated events trigger the processor."
  type        = string
}

variable "upload_bucket_arn" {
  description = "ARN of the upload bucket."
  type        = string
}

variable "output_bucket_id" {
  description = "Name of the output bucket (OUTPUT_BUCKET)."
  type        = string
}

variable "output_bucket_arn" {
  description = "ARN of the output bucket."
  type        = string
}

variable "upload_prefix" {
  description = "Key prefix of originals; only objects under it trigger the processor. Ends with '/'."
  type        = string
  default     = "uploads/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*/$", var.upload_prefix))
    error_message = "upload_prefix must be lowercase letters, digits, '_' or '-' and end with '/', e.g. \"uploads/\"."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN of the buckets' SSE-KMS encryption, if any (grants kms:Decrypt/GenerateDataKey to the function)."
  type        = string
  default     = null
}

variable "max_upload_bytes" {
  description = "Objects larger than this are rejected without reading (MAX_UPLOAD_BYTES)."
  type        = number
}

variable "max_pixels" {
  description = "width*height limit checked before decoding (MAX_PIXELS)."
  type        = number
  default     = 40000000

  validation {
    condition     = var.max_pixels >= 1 && var.max_pixels <= 1000000000 && floor(var.max_pixels) == var.max_pixels
    error_message = "max_pixels must be an integer between 1 and 1000000000."
  }
}

variable "allowed_formats" {
  description = "Pillow format names the processor accepts (ALLOWED_FORMATS). Allowed: JPEG, PNG, WEBP, GIF."
  type        = list(string)
  default     = ["JPEG", "PNG", "WEBP", "GIF"]

  validation {
    condition     = length(var.allowed_formats) > 0 && alltrue([for f in var.allowed_formats : contains(["JPEG", "PNG", "WEBP", "GIF"], f)])
    error_message = "allowed_formats must be a non-empty list of: JPEG, PNG, WEBP, GIF."
  }
}

variable "variants" {
  description = "Variants to produce (VARIANTS); see the root module's variable of the same name."
  type = list(object({
    name        = string
    max_edge    = number
    format      = string
    quality     = optional(number, 85)
    webp_method = optional(number, 4)
  }))

  validation {
    condition = length(var.variants) >= 1 && length(distinct([for v in var.variants : v.name])) == length(var.variants) && alltrue([
      for v in var.variants : can(regex("^[a-z0-9_-]{1,32}$", v.name)) && contains(["jpeg", "webp", "png"], v.format) && v.max_edge >= 16 && v.max_edge <= 8192 && v.quality >= 1 && v.quality <= 100 && v.webp_method >= 0 && v.webp_method <= 6
    ])
    error_message = "variants must be a non-empty list with unique names matching ^[a-z0-9_-]{1,32}$, format one of: jpeg, webp, png, max_edge 16-8192, quality 1-100, webp_method 0-6."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous (S3-triggered) invocation, 0-2."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.maximum_retry_attempts)
    error_message = "maximum_retry_attempts must be one of: 0, 1, 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Oldest age of an event Lambda still tries to process, 60-21600 seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be an integer between 60 and 21600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long failed events stay in the dead-letter queue, 60-1209600 seconds (default 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600 && floor(var.dlq_message_retention_seconds) == var.dlq_message_retention_seconds
    error_message = "dlq_message_retention_seconds must be an integer between 60 and 1209600."
  }
}

variable "tags" {
  description = "Extra tags for the function, layer, queue, role and log group."
  type        = map(string)
  default     = {}
}
