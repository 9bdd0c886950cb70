variable "name" {
  description = "Name of the REST API and of the presign/status function (1-64 characters: letters, digits, '-' and '_')."
  type        = string
}

variable "role_name" {
  description = "Name of the function's execution role; null: the function name."
  type        = string
  default     = null
}

variable "package_path" {
  description = "Path to api.zip built by build.sh."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function. Allowed: x86_64, arm64."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Memory of the presign/status function in MB (128-10240)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of the presign/status function in seconds (1-29: API Gateway's integration limit)."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 29 && floor(var.timeout) == var.timeout
    error_message = "timeout must be an integer between 1 and 29."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's (and access) log group. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 14
}

variable "upload_bucket_id" {
  description = "Name of the upload bucket (UPLOAD_BUCKET)."
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
  description = "Key prefix of originals in the upload bucket; ends with '/'."
  type        = string
  default     = "uploads/"
}

variable "kms_key_arn" {
  description = "KMS key ARN of the buckets' SSE-KMS encryption, if any (grants kms:GenerateDataKey/Decrypt to the function)."
  type        = string
  default     = null
}

variable "allowed_content_types" {
  description = "MIME types the presign endpoint accepts (ALLOWED_CONTENT_TYPES)."
  type        = list(string)
}

variable "max_upload_bytes" {
  description = "Largest accepted upload in bytes (MAX_UPLOAD_BYTES)."
  type        = number
}

variable "upload_url_ttl_seconds" {
  description = "Lifetime of presigned PUT URLs, 1-3600 (UPLOAD_URL_TTL_SECONDS)."
  type        = number
  default     = 60
}

variable "download_url_ttl_seconds" {
  description = "Lifetime of presigned GET URLs of variants, 1-3600 (DOWNLOAD_URL_TTL_SECONDS)."
  type        = number
  default     = 300
}

variable "allowed_origins" {
  description = "Exact origins (or \"*\") the function answers CORS for (ALLOWED_ORIGINS)."
  type        = list(string)
}

variable "log_level" {
  description = "LOG_LEVEL of the function. Allowed: DEBUG, INFO, WARNING, ERROR."
  type        = string
  default     = "INFO"
}

variable "stage_name" {
  description = "Name of the API stage (the last path segment of the API URL)."
  type        = string
  default     = "v1"
}

variable "throttling_burst_limit" {
  description = "Stage-wide burst limit (requests), 1-5000."
  type        = number
  default     = 20
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady-state rate limit (requests per second), greater than 0 and at most 10000."
  type        = number
  default     = 10
}

variable "access_log_enabled" {
  description = "Write API Gateway access logs to a CloudWatch log group. Requires the account-level API Gateway CloudWatch role (aws_api_gateway_account) to be set up once per region; off by default."
  type        = bool
  default     = false
}

variable "gateway_response_allow_origin" {
  description = "Access-Control-Allow-Origin sent on API Gateway's own DEFAULT_4XX/DEFAULT_5XX answers (throttling, unknown route, integration failure), so the page can read them. Usually the page's origin."
  type        = string
  default     = "*"
}

variable "tags" {
  description = "Extra tags for the API, stage, function, role and log groups."
  type        = map(string)
  default     = {}
}

variable "shared_layer_arns" {
  description = "Layers the function loads before its own (the pinned AWS SDK both functions ship)."
  type        = list(string)
  default     = []
}

variable "processing_attempts" {
  description = "Attempts the processor makes per upload (1 + its retries): that many failure records and the status is failed."
  type        = number
  default     = 3
}

variable "processing_window_seconds" {
  description = "Seconds after an upload by which every processor attempt has ended; later, an upload with no outcome is failed (processing_timed_out)."
  type        = number
  default     = 420
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

variable "uploads_owner_index_arn" {
  description = "ARN of the uploads table's owner index (GET /uploads lists an owner's uploads)."
  type        = string
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
  description = "X-Ray active tracing of the function and of the API stage."
  type        = bool
  default     = false
}

variable "auth" {
  description = "Sign-in (the root's auth = \"cognito\"); null (default): the anonymous API. user_pool_arn for API Gateway's authorizer; issuer, client_id and the key set (jwks_url, default <issuer>/.well-known/jwks.json, or the JWKS document itself in jwks_json) for the function's own token check; the quota table and the daily limits (null: no limit)."
  type = object({
    user_pool_arn    = string
    issuer           = string
    client_id        = string
    jwks_url         = optional(string)
    jwks_json        = optional(string)
    quota_table_name = string
    quota_table_arn  = string
    uploads_per_day  = optional(number)
    bytes_per_day    = optional(number)
  })
  default = null
}
