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

variable "allowed_content_types" {
  description = "MIME types the presign endpoint accepts (ALLOWED_CONTENT_TYPES)."
  type        = list(string)
}

variable "max_upload_bytes" {
  description = "Largest accepted upload in bytes (MAX_UPLOAD_BYTES)."
  type        = number
}

variable "multipart_threshold_bytes" {
  description = "Files larger than this go up as an S3 multipart upload (MULTIPART_THRESHOLD_BYTES); 5 MiB to 5 GiB."
  type        = number
  default     = 16777216

  validation {
    condition     = var.multipart_threshold_bytes >= 5242880 && var.multipart_threshold_bytes <= 5368709120 && floor(var.multipart_threshold_bytes) == var.multipart_threshold_bytes
    error_message = "multipart_threshold_bytes must be an integer between 5242880 (5 MiB) and 5368709120 (5 GiB)."
  }
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

variable "delivery" {
  description = "How the function hands out variant URLs (lambda_src/api/delivery.py; DELIVERY_* variables): mode presigned (S3 GETs, download_url_ttl_seconds), public (base_url + key on the distribution) or signed (CloudFront signed URLs valid ttl_seconds, with key_pair_id, the public key's id, and the SSM SecureString parameter holding its private key: its name and ARN, which the role may read)."
  type = object({
    mode                      = string
    base_url                  = optional(string)
    ttl_seconds               = optional(number)
    key_pair_id               = optional(string)
    private_key_parameter     = optional(string)
    private_key_parameter_arn = optional(string)
  })
  default = { mode = "presigned" }

  validation {
    condition     = contains(["presigned", "public", "signed"], var.delivery.mode)
    error_message = "delivery.mode must be one of: presigned, public, signed."
  }

  validation {
    condition     = var.delivery.mode == "presigned" || var.delivery.base_url != null
    error_message = "delivery.base_url is required with mode public or signed."
  }

  validation {
    condition     = var.delivery.mode != "signed" || (var.delivery.ttl_seconds != null && var.delivery.key_pair_id != null && var.delivery.private_key_parameter != null && var.delivery.private_key_parameter_arn != null)
    error_message = "delivery mode signed needs ttl_seconds, key_pair_id, private_key_parameter and private_key_parameter_arn."
  }
}

variable "allowed_origins" {
  description = "Exact origins (or \"*\") the function answers CORS for (ALLOWED_ORIGINS)."
  type        = list(string)
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

variable "function_settings" {
  description = "Settings both functions share, built once in the root (main.tf local.function_settings) and passed to modules/lambda_function as its settings (described and validated there): region, architecture, log_level, log_retention_days, tracing_enabled, shared_layer_arns, vpc (null: no VPC), extra_environment_variables and extra tags. Here also: log_retention_days of the access log group, tracing_enabled of the API stage, tags of the API and stage."
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
  description = "The stack's buckets (modules/storage): upload and output, each by id (name) and ARN; upload_prefix, the key prefix of originals in the upload bucket (ends with '/'); kms_key_arn of their SSE-KMS encryption, if any (null: SSE-S3). The function presigns PUTs of originals under upload_prefix and GETs of outputs (UPLOAD_BUCKET, OUTPUT_BUCKET, UPLOAD_PREFIX)."
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
  description = "The DynamoDB table with one record per upload (modules/uploads_table): name, arn, owner_index_arn (its owner index), record_retention_days (after which a record expires, the table's TTL; null keeps records). The function creates, reads and lists the records (UPLOADS_TABLE, RECORD_RETENTION_DAYS)."
  type = object({
    name                  = string
    arn                   = string
    owner_index_arn       = optional(string)
    record_retention_days = optional(number)
  })

  validation {
    condition     = var.uploads_table.owner_index_arn != null
    error_message = "uploads_table.owner_index_arn is required: GET /uploads lists an owner's uploads."
  }
}

variable "routes" {
  description = "The API's routes (the root passes the shared rule set's, lambda_src/common/rules.json routes): path (a template the API has a resource for: /uploads, /uploads/{id}, /uploads/{id}/parts or /uploads/{id}/complete), method, handler (the api/handler.py function answering it; the function checks the same list) and auth (any, or signed_in: only with auth set). Each path also gets OPTIONS (the anonymous CORS preflight) and ANY (the function's 405 for every other method)."
  type = list(object({
    path    = string
    method  = string
    handler = string
    auth    = string
  }))

  validation {
    condition     = alltrue([for route in var.routes : contains(["/uploads", "/uploads/{id}", "/uploads/{id}/parts", "/uploads/{id}/complete"], route.path)])
    error_message = "Every route path must be /uploads, /uploads/{id}, /uploads/{id}/parts or /uploads/{id}/complete (a new path needs its aws_api_gateway_resource in modules/api)."
  }

  validation {
    condition     = alltrue([for route in var.routes : contains(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], route.method) && contains(["any", "signed_in"], route.auth)])
    error_message = "Every route method must be one of GET, POST, PUT, PATCH, DELETE, HEAD and its auth any or signed_in."
  }

  validation {
    condition     = length(distinct([for route in var.routes : "${route.method} ${route.path}"])) == length(var.routes)
    error_message = "No route may be listed twice."
  }
}

variable "event_bus" {
  description = "Where the function publishes outcome events (modules/events): the bus name and ARN (events:PutEvents on it, EVENT_BUS_NAME) and the events' source (EVENT_SOURCE); null (default): no events. The API publishes the deleted event, so only with sign-in (the only mode with DELETE)."
  type = object({
    name   = string
    arn    = string
    source = string
  })
  default = null
}
