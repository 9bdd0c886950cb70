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

variable "log_retention_days" {
  description = "Retention of the function's log group. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 14
}

variable "log_level" {
  description = "LOG_LEVEL of the function. Allowed: DEBUG, INFO, WARNING, ERROR."
  type        = string
  default     = "INFO"
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
}

variable "allowed_formats" {
  description = "Pillow format names the processor accepts (ALLOWED_FORMATS). Allowed: JPEG, PNG, WEBP, GIF."
  type        = list(string)
  default     = ["JPEG", "PNG", "WEBP", "GIF"]
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

variable "tags" {
  description = "Extra tags for the function, layer, queue, role and log group."
  type        = map(string)
  default     = {}
}

variable "shared_layer_arns" {
  description = "Layers the function loads before its own (the pinned AWS SDK both functions ship)."
  type        = list(string)
  default     = []
}

variable "uploads_table_name" {
  description = "Name of the DynamoDB table with one record per upload."
  type        = string
}

variable "uploads_table_arn" {
  description = "ARN of the uploads table."
  type        = string
}

variable "record_retention_days" {
  description = "Days after which an upload's record expires (the table's TTL); null keeps records."
  type        = number
  default     = null
}

variable "extra_environment_variables" {
  description = "More environment variables for the function (the local emulator's endpoint overrides)."
  type        = map(string)
  default     = {}
}

variable "processing_attempts" {
  description = "Attempts Lambda makes per upload (1 + maximum_retry_attempts): after the last failed one the record says failed."
  type        = number
  default     = 3
}

variable "region" {
  description = "Region of the function (its network-interface permissions name it)."
  type        = string
}

variable "vpc_subnet_ids" {
  description = "Subnets the function is attached to; null (default): no VPC."
  type        = list(string)
  default     = null
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function's network interfaces (with vpc_subnet_ids)."
  type        = list(string)
  default     = []
}

variable "tracing_enabled" {
  description = "X-Ray active tracing of the function."
  type        = bool
  default     = false
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
