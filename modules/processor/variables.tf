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

variable "memory_size" {
  description = "Memory of the processor in MB (128-10240). CPU scales with memory: 1024+ keeps resizing fast."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout of the processor in seconds (1-900)."
  type        = number
  default     = 60
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the processor (caps parallel resizes and cost); null (default): unreserved."
  type        = number
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
}

variable "allowed_formats" {
  description = "Pillow format names the processor accepts (ALLOWED_FORMATS). Allowed: JPEG, PNG, WEBP, GIF."
  type        = list(string)
  default     = ["JPEG", "PNG", "WEBP", "GIF"]
}

variable "variants" {
  description = "Variants to produce (VARIANTS); see the root module's variable of the same name."
  type = list(object({
    name     = string
    max_edge = number
    animate  = optional(bool)
    formats = list(object({
      format  = string
      quality = optional(number)
      effort  = optional(number)
    }))
  }))
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed asynchronous (S3-triggered) invocation, 0-2."
  type        = number
  default     = 2
}

variable "maximum_event_age_in_seconds" {
  description = "Oldest age of an event Lambda still tries to process, 60-21600 seconds."
  type        = number
  default     = 3600
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

variable "processing_attempts" {
  description = "Attempts Lambda makes per upload (1 + maximum_retry_attempts): after the last failed one the record says failed."
  type        = number
  default     = 3
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the processor's own metrics (EMF log lines: processor/metrics.py); null: none are written."
  type        = string
  default     = null
}

variable "metrics_service" {
  description = "Value of the metrics' Service dimension (the stack's name prefix)."
  type        = string
  default     = "image-pipeline"
}

variable "erase_deleted_uploads" {
  description = "Whether uploads can be deleted (sign-in): the processor may then delete the original and the outputs of an upload deleted while it worked (a tombstone in the record)."
  type        = bool
  default     = false
}

variable "function_settings" {
  description = "Settings both functions share, built once in the root (main.tf local.function_settings) and passed to modules/lambda_function as its settings (described and validated there): region, architecture, log_level, log_retention_days, tracing_enabled, shared_layer_arns, vpc (null: no VPC), extra_environment_variables and extra tags. Here also: architecture of the Pillow layer, tags of the layer and the dead-letter queue."
  type = object({
    region                      = string
    architecture                = optional(string, "x86_64")
    log_level                   = optional(string, "INFO")
    log_retention_days          = optional(number, 14)
    tracing_enabled             = optional(bool, false)
    shared_layer_arns           = optional(list(string), [])
    vpc                         = optional(object({ subnet_ids = list(string), security_group_ids = list(string) }))
    extra_environment_variables = optional(map(string), {})
    tags                        = optional(map(string), {})
  })
}

variable "buckets" {
  description = "The stack's buckets (modules/storage): upload and output, each by id (name) and ARN; upload_prefix, the key prefix of originals in the upload bucket (ends with '/'); kms_key_arn of their SSE-KMS encryption, if any (null: SSE-S3). ObjectCreated events of originals under upload_prefix trigger the processor, which writes variants to the output bucket (OUTPUT_BUCKET, UPLOAD_PREFIX)."
  type = object({
    upload        = object({ id = string, arn = string })
    output        = object({ id = string, arn = string })
    upload_prefix = optional(string, "uploads/")
    kms_key_arn   = optional(string)
  })

  validation {
    condition     = endswith(var.buckets.upload_prefix, "/")
    error_message = "buckets.upload_prefix must end with '/'."
  }
}

variable "uploads_table" {
  description = "The DynamoDB table with one record per upload (modules/uploads_table): name, arn, owner_index_arn (its owner index), record_retention_days (after which a record expires, the table's TTL; null keeps records). The processor moves the records through conditional updates (UPLOADS_TABLE, RECORD_RETENTION_DAYS); owner_index_arn is not used."
  type = object({
    name                  = string
    arn                   = string
    owner_index_arn       = optional(string)
    record_retention_days = optional(number)
  })
}

variable "event_bus" {
  description = "Where the function publishes outcome events (modules/events): the bus name and ARN (events:PutEvents on it, EVENT_BUS_NAME) and the events' source (EVENT_SOURCE); null (default): no events. url_ttl_seconds: lifetime of the presigned variant URLs in processed events (EVENT_URL_TTL_SECONDS), 1-43200."
  type = object({
    name            = string
    arn             = string
    source          = string
    url_ttl_seconds = optional(number, 3600)
  })
  default = null

  validation {
    condition     = var.event_bus == null || try(var.event_bus.url_ttl_seconds >= 1 && var.event_bus.url_ttl_seconds <= 43200, false)
    error_message = "event_bus.url_ttl_seconds must be between 1 and 43200."
  }
}
