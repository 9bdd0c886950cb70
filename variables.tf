# The one rule set shared with both functions and the page (lambda_src/common/rules.json):
# the validation blocks below read it, so a rule changed there changes every layer at once.
locals {
  rules = jsondecode(file("${path.module}/lambda_src/common/rules.json"))
}

################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region to deploy to (e.g. us-east-1, eu-west-1)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-west-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (3-24 characters: lowercase letters, digits and '-'; starts with a letter, does not end with '-')."
  type        = string
  default     = "sip"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and '-', start with a letter and not end with '-'."
  }
}

variable "bucket_name_suffix" {
  description = "Optional fixed suffix of the bucket names (\"<name_prefix>-uploads-<suffix>\", \"-output-\", \"-web-\"). S3 names are global: with null (default) the provider generates unique names from the prefixes (bucket_prefix, no random provider); set a suffix for predictable names. The longest name, <name_prefix>-uploads-<suffix>, must fit S3's 63 characters."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^[a-z0-9][a-z0-9-]{0,29}[a-z0-9]$|^[a-z0-9]$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be null or 1-31 characters of lowercase letters, digits and '-' (not starting or ending with '-')."
  }

  validation {
    condition     = var.bucket_name_suffix == null || length("${var.name_prefix}-uploads-${coalesce(var.bucket_name_suffix, "x")}") <= 63
    error_message = "name_prefix and bucket_name_suffix together are too long: \"<name_prefix>-uploads-<bucket_name_suffix>\" must be at most 63 characters (S3's bucket name limit)."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default = {
    Project   = "serverless-image-pipeline"
    ManagedBy = "terraform"
  }

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags must have at most 40 entries, keys of 1-128 characters not starting with \"aws:\" and values of at most 256 characters."
  }
}

variable "artifacts_dir" {
  description = "Folder holding build.sh's output (api.zip, processor.zip, pillow-layer-<architecture>.zip, sdk-layer-<architecture>.zip); relative paths are read from the root module's folder."
  type        = string
  default     = "dist"

  validation {
    condition     = length(trimspace(var.artifacts_dir)) > 0
    error_message = "artifacts_dir must not be empty."
  }
}

variable "emulator_endpoint" {
  description = "EMULATOR ONLY (LocalStack); leave null for real AWS. When set, e.g. \"http://127.0.0.1:4566\", the outputs and the page's config.json use DNS-free local URLs (web_url = <endpoint>/<web bucket>/index.html, api_url = <endpoint>/_aws/execute-api/<api id>/<stage>) and the page origin allowed by CORS becomes this endpoint; buckets are force-destroyed. It does not configure the provider: the emulator's override file does."
  type        = string
  default     = null

  validation {
    condition     = var.emulator_endpoint == null || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.emulator_endpoint))
    error_message = "emulator_endpoint must be null or scheme://host[:port] without a path or trailing slash, e.g. \"http://127.0.0.1:4566\"."
  }
}

variable "emulator_sidecar_endpoint" {
  description = "EMULATOR ONLY; leave null for real AWS. The moto sidecar beside the emulator (local/emulator.py), e.g. \"http://127.0.0.1:5566\": both functions reach DynamoDB there (AWS_ENDPOINT_URL_DYNAMODB). Set by local/stack.py."
  type        = string
  default     = null

  validation {
    condition     = var.emulator_sidecar_endpoint == null || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", var.emulator_sidecar_endpoint))
    error_message = "emulator_sidecar_endpoint must be null or scheme://host[:port] without a path or trailing slash."
  }
}

################################################################################
# Uploads and CORS
################################################################################

variable "allowed_origins" {
  description = "Extra browser origins (scheme://host[:port], or \"*\") allowed to call the API and PUT uploads, e.g. a CloudFront domain. The page's own origin (the S3 website endpoint, or emulator_endpoint) is always allowed; the default [] allows only it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.allowed_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])
    error_message = "allowed_origins entries must be \"*\" or exact origins scheme://host[:port] without a path or trailing slash, e.g. \"https://images.example.com\"."
  }
}

variable "allowed_content_types" {
  description = "MIME types accepted for upload: a subset of the content types in lambda_src/common/rules.json (image/jpeg, image/png, image/webp, image/gif, image/heic, image/heif, image/avif)."
  type        = list(string)
  default     = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif", "image/avif"]

  validation {
    condition     = length(var.allowed_content_types) > 0 && length(distinct(var.allowed_content_types)) == length(var.allowed_content_types) && alltrue([for t in var.allowed_content_types : contains(keys(local.rules.content_types), t)])
    error_message = "allowed_content_types must be a non-empty list without duplicates of: ${join(", ", keys(local.rules.content_types))}."
  }
}

variable "max_upload_bytes" {
  description = "Largest accepted upload in bytes (1 to 5 GiB = 5368709120), enforced when the upload is granted and again when a multipart upload completes. Default 100 MiB (a 40 MP JPEG at high quality, a large PNG: docs/architecture.md, Uploads)."
  type        = number
  default     = 104857600

  validation {
    condition     = var.max_upload_bytes >= local.rules.max_upload_bytes.min && var.max_upload_bytes <= local.rules.max_upload_bytes.max && floor(var.max_upload_bytes) == var.max_upload_bytes
    error_message = "max_upload_bytes must be an integer between ${local.rules.max_upload_bytes.min} and ${local.rules.max_upload_bytes.max} (5 GiB)."
  }
}

variable "multipart_threshold_bytes" {
  description = "Files larger than this go up as an S3 multipart upload (parts with SHA-256 checksums, resumable); smaller ones in one presigned PUT. 5 MiB (S3's smallest part) to 5 GiB. Default 16 MiB, from bench/multipart.py (docs/benchmarks.md)."
  type        = number
  default     = 16777216

  validation {
    condition     = var.multipart_threshold_bytes >= local.rules.multipart.threshold_bytes.min && var.multipart_threshold_bytes <= local.rules.multipart.threshold_bytes.max && floor(var.multipart_threshold_bytes) == var.multipart_threshold_bytes
    error_message = "multipart_threshold_bytes must be an integer between ${local.rules.multipart.threshold_bytes.min} (5 MiB) and ${local.rules.multipart.threshold_bytes.max} (5 GiB)."
  }
}

variable "upload_url_ttl_seconds" {
  description = "Lifetime of presigned upload (PUT) URLs in seconds, 1-3600."
  type        = number
  default     = 60

  validation {
    condition     = var.upload_url_ttl_seconds >= local.rules.url_ttl_seconds.min && var.upload_url_ttl_seconds <= local.rules.url_ttl_seconds.max && floor(var.upload_url_ttl_seconds) == var.upload_url_ttl_seconds
    error_message = "upload_url_ttl_seconds must be an integer between ${local.rules.url_ttl_seconds.min} and ${local.rules.url_ttl_seconds.max}."
  }
}

variable "download_url_ttl_seconds" {
  description = "Lifetime of presigned download (GET) URLs of variants in seconds, 1-3600."
  type        = number
  default     = 300

  validation {
    condition     = var.download_url_ttl_seconds >= local.rules.url_ttl_seconds.min && var.download_url_ttl_seconds <= local.rules.url_ttl_seconds.max && floor(var.download_url_ttl_seconds) == var.download_url_ttl_seconds
    error_message = "download_url_ttl_seconds must be an integer between ${local.rules.url_ttl_seconds.min} and ${local.rules.url_ttl_seconds.max}."
  }
}

variable "upload_retention_days" {
  description = "Days after which originals expire from the upload bucket, 0-36500 (0: never). null (default): per mode, since reprocessing (tools/reprocess.py) needs them: with sign-in kept until the owner deletes the upload, anonymous 30 days (docs/cost.md \"Originals kept\")."
  type        = number
  default     = null

  validation {
    condition     = var.upload_retention_days == null || try(var.upload_retention_days >= 0 && var.upload_retention_days <= 36500 && floor(var.upload_retention_days) == var.upload_retention_days, false)
    error_message = "upload_retention_days must be null or an integer between 0 and 36500 (0: never expire)."
  }
}

variable "original_archive_days" {
  description = "Days after which originals move to original_archive_storage_class, a colder class that still reads instantly (reprocessing needs no restore); null: they stay in S3 Standard. S3 needs >= 30 for STANDARD_IA. Applied only to originals kept at least this plus the class's minimum storage duration. Outputs always stay in Standard."
  type        = number
  default     = 30

  validation {
    condition     = var.original_archive_days == null || try(var.original_archive_days >= 0 && var.original_archive_days <= 36500 && floor(var.original_archive_days) == var.original_archive_days, false)
    error_message = "original_archive_days must be null or an integer between 0 and 36500."
  }
}

variable "original_archive_storage_class" {
  description = "Where archived originals go: GLACIER_IR (default: $0.004/GB-month, $0.03/GB read, 90-day minimum) or STANDARD_IA ($0.0125/GB-month, $0.01/GB read, 30-day minimum); docs/cost.md compares them."
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

variable "output_retention_days" {
  description = "Days after which variants and manifests expire from the output bucket (and the upload records from the table), 1-36500; 0 keeps them until deleted. null (default): by mode, 30 days for anonymous uploads (auth = \"none\": nobody can delete them, so they must not pile up) and never with sign-in (auth = \"cognito\": each user's images stay until they delete them). Cost per 1,000 uploads kept: docs/cost.md."
  type        = number
  default     = null

  validation {
    condition     = var.output_retention_days == null || try(var.output_retention_days >= 0 && var.output_retention_days <= 36500 && floor(var.output_retention_days) == var.output_retention_days, false)
    error_message = "output_retention_days must be null, 0 (never expire) or an integer between 1 and 36500."
  }
}

variable "kms_key_arn" {
  description = "Optional customer-managed KMS key ARN for the upload and output buckets (SSE-KMS with a bucket key) and the DynamoDB tables (uploads, quotas); null (default): SSE-S3 (AES256) and DynamoDB's AWS-owned key, both free. The web bucket always uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete the upload and output buckets with their objects (keep false for real data). Always on when emulator_endpoint is set: emulator state is throw-away."
  type        = bool
  default     = false
}

variable "uploads_table_point_in_time_recovery" {
  description = "Continuous backups of the uploads table for 35 days (billed per GB; the table holds a few KB per upload)."
  type        = bool
  default     = true
}

variable "uploads_table_deletion_protection" {
  description = "Protect the uploads table from deletion, terraform destroy included (turn off before destroying). Always off on the emulator."
  type        = bool
  default     = true
}

################################################################################
# Processing
################################################################################

variable "max_pixels" {
  description = "Largest accepted image in pixels (width*height), checked before decoding (decompression-bomb guard), 1-1000000000."
  type        = number
  default     = 40000000

  validation {
    condition     = var.max_pixels >= 1 && var.max_pixels <= 1000000000 && floor(var.max_pixels) == var.max_pixels
    error_message = "max_pixels must be an integer between 1 and 1000000000."
  }
}

variable "variants" {
  description = "Variants produced for every upload (rules in lambda_src/common/rules.json, shared with both functions and the page): 1-10 sizes of name (^[a-z0-9][a-z0-9_-]{0,31}$, unique), max_edge (16-8192 px, longest edge) and formats, an ordered list (preference order, the last one the fallback every browser reads) of 1-4 distinct formats (jpeg, webp, png, avif), each with an optional quality (1-100; default jpeg 85, webp 80, avif 70; png has none) and effort (encoder work, higher is slower and smaller: webp 0-6, default 4; avif 0-10, default 1; jpeg and png have none). An optional animate (default true: an animated upload's webp and avif formats of that size animate; jpeg and png get the first frame, docs/formats.md). Defaults chosen by measurement in docs/benchmarks.md."
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
  default = [
    { name = "large", max_edge = 1024, formats = [{ format = "avif" }, { format = "jpeg" }] },
    { name = "medium", max_edge = 512, formats = [{ format = "avif" }, { format = "jpeg" }] },
    { name = "thumb", max_edge = 128, formats = [{ format = "webp" }, { format = "jpeg" }] },
  ]

  validation {
    condition     = length(var.variants) >= local.rules.variant.count.min && length(var.variants) <= local.rules.variant.count.max
    error_message = "variants must contain between ${local.rules.variant.count.min} and ${local.rules.variant.count.max} entries."
  }

  validation {
    condition     = alltrue([for v in var.variants : can(regex(local.rules.variant.name_pattern, v.name))])
    error_message = "Each variant name must match ${local.rules.variant.name_pattern} (starts with a lowercase letter or digit; then lowercase letters, digits, '_' and '-')."
  }

  validation {
    condition     = length(distinct([for v in var.variants : v.name])) == length(var.variants)
    error_message = "Variant names must be unique."
  }

  validation {
    condition     = alltrue([for v in var.variants : v.max_edge >= local.rules.variant.max_edge.min && v.max_edge <= local.rules.variant.max_edge.max && floor(v.max_edge) == v.max_edge])
    error_message = "Each variant max_edge must be an integer between ${local.rules.variant.max_edge.min} and ${local.rules.variant.max_edge.max}."
  }

  validation {
    condition     = alltrue([for v in var.variants : length(v.formats) >= local.rules.variant.formats.min && length(v.formats) <= local.rules.variant.formats.max && length(distinct([for f in v.formats : f.format])) == length(v.formats)])
    error_message = "Each variant needs ${local.rules.variant.formats.min} to ${local.rules.variant.formats.max} formats, each at most once."
  }

  validation {
    condition     = alltrue(flatten([for v in var.variants : [for f in v.formats : contains(keys(local.rules.output_formats), f.format)]]))
    error_message = "Each variant format must be one of: ${join(", ", keys(local.rules.output_formats))}."
  }

  validation {
    condition     = alltrue(flatten([for v in var.variants : [for f in v.formats : f.quality == null || try(local.rules.output_formats[f.format].quality != null && f.quality >= local.rules.variant.quality.min && f.quality <= local.rules.variant.quality.max && floor(f.quality) == f.quality, false)]]))
    error_message = "Each format's quality must be null or an integer between ${local.rules.variant.quality.min} and ${local.rules.variant.quality.max}, and png has none."
  }

  validation {
    condition     = alltrue(flatten([for v in var.variants : [for f in v.formats : f.effort == null || try(f.effort >= local.rules.output_formats[f.format].effort.min && f.effort <= local.rules.output_formats[f.format].effort.max && floor(f.effort) == f.effort, false)]]))
    error_message = "Each format's effort must be null or an integer in its format's range (webp 0-6, avif 0-10; jpeg and png have none)."
  }
}

variable "processor_memory_mb" {
  description = "Memory of the processor function in MB, 128-10240 (CPU scales with it: 1769 is one vCPU, the lowest cost x latency measured, docs/cost.md)."
  type        = number
  default     = 1769

  validation {
    condition     = var.processor_memory_mb >= 128 && var.processor_memory_mb <= 10240 && floor(var.processor_memory_mb) == var.processor_memory_mb
    error_message = "processor_memory_mb must be an integer between 128 and 10240."
  }
}

variable "processor_timeout_seconds" {
  description = "Timeout of the processor function in seconds, 1-900."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_timeout_seconds >= 1 && var.processor_timeout_seconds <= 900 && floor(var.processor_timeout_seconds) == var.processor_timeout_seconds
    error_message = "processor_timeout_seconds must be an integer between 1 and 900."
  }
}

variable "processor_reserved_concurrency" {
  description = "Reserved concurrency of the processor (caps parallel resizes); null (default): unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.processor_reserved_concurrency == null || try(var.processor_reserved_concurrency >= 1 && floor(var.processor_reserved_concurrency) == var.processor_reserved_concurrency, false)
    error_message = "processor_reserved_concurrency must be null or an integer >= 1."
  }
}

variable "processor_max_retry_attempts" {
  description = "Retries of a failed S3-triggered processor invocation before the event goes to the dead-letter queue. Allowed: 0, 1, 2."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.processor_max_retry_attempts)
    error_message = "processor_max_retry_attempts must be one of: 0, 1, 2."
  }
}

variable "processor_max_event_age_seconds" {
  description = "Oldest age of an S3 event the processor still tries, 60-21600 seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.processor_max_event_age_seconds >= 60 && var.processor_max_event_age_seconds <= 21600 && floor(var.processor_max_event_age_seconds) == var.processor_max_event_age_seconds
    error_message = "processor_max_event_age_seconds must be an integer between 60 and 21600."
  }
}

variable "architecture" {
  description = "Instruction set of both functions and of both layers, Pillow's and the SDK's (build.sh --arch must match: it builds pillow-layer-<architecture>.zip and sdk-layer-<architecture>.zip). Allowed: x86_64, arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be one of: x86_64, arm64."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of both functions. Allowed: DEBUG, INFO, WARNING, ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(local.rules.log_levels, var.log_level)
    error_message = "log_level must be one of: ${join(", ", local.rules.log_levels)}."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups in days: one of CloudWatch's values (listed in lambda_src/common/rules.json: 1, 3, 5, 7, 14, 30, ... 3653)."
  type        = number
  default     = 14

  validation {
    condition     = contains(local.rules.log_retention_days, var.log_retention_days)
    error_message = "log_retention_days must be one of: ${join(", ", local.rules.log_retention_days)}."
  }
}

################################################################################
# API
################################################################################

variable "api_stage_name" {
  description = "Name of the API Gateway stage (last path segment of api_url): 1-64 letters, digits, '-' or '_'."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.api_stage_name))
    error_message = "api_stage_name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "api_throttle_burst_limit" {
  description = "Stage-wide API burst limit (requests), 1-5000."
  type        = number
  default     = 20

  validation {
    condition     = var.api_throttle_burst_limit >= 1 && var.api_throttle_burst_limit <= 5000 && floor(var.api_throttle_burst_limit) == var.api_throttle_burst_limit
    error_message = "api_throttle_burst_limit must be an integer between 1 and 5000."
  }
}

variable "api_throttle_rate_limit" {
  description = "Stage-wide API steady-state rate limit (requests per second), greater than 0 and at most 10000."
  type        = number
  default     = 10

  validation {
    condition     = var.api_throttle_rate_limit > 0 && var.api_throttle_rate_limit <= 10000
    error_message = "api_throttle_rate_limit must be greater than 0 and at most 10000."
  }
}

variable "api_access_log_enabled" {
  description = "Write API Gateway access logs to CloudWatch. Off by default: it needs the account-level API Gateway CloudWatch role (aws_api_gateway_account) set up once per account and region, outside this stack."
  type        = bool
  default     = false
}

################################################################################
# Delivery (CloudFront, custom domain, WAF)
################################################################################

variable "enable_cdn" {
  description = "Serve the page over HTTPS through CloudFront from a private web bucket (origin access control, all four Block Public Access flags on, security headers). false: the public S3 website endpoint over plain HTTP (see README.md, \"Security notes\", for what that costs). On the emulator the page is served path-style either way."
  type        = bool
  default     = true
}

variable "cdn_price_class" {
  description = "CloudFront price class (edge locations used). Allowed: PriceClass_100 (North America and Europe, cheapest), PriceClass_200, PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cdn_price_class)
    error_message = "cdn_price_class must be one of: PriceClass_100, PriceClass_200, PriceClass_All."
  }
}

variable "domain_name" {
  description = "Optional custom domain of the page (e.g. images.example.com), with enable_cdn: an ACM certificate in us-east-1 validated in hosted_zone_id and A/AAAA alias records to the distribution. null (default): https://<id>.cloudfront.net."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be null or a lowercase DNS name such as images.example.com (no scheme, path or trailing dot)."
  }

  validation {
    condition     = var.domain_name == null || var.enable_cdn
    error_message = "domain_name needs enable_cdn = true: the custom domain points at the CloudFront distribution."
  }

  validation {
    condition     = var.domain_name == null || var.emulator_endpoint == null
    error_message = "domain_name cannot be used with emulator_endpoint: the emulator has no ACM or Route 53."
  }
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone id (Z...) that holds domain_name; required with domain_name, null otherwise."
  type        = string
  default     = null

  validation {
    condition     = (var.hosted_zone_id == null) == (var.domain_name == null)
    error_message = "hosted_zone_id and domain_name must be given together (or both left null)."
  }

  validation {
    condition     = var.hosted_zone_id == null || can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be null or a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ."
  }
}

variable "image_access" {
  description = "Who may view the processed images served through the distribution (enable_cdn = true; docs/cdn.md). \"public\": anyone holding the URL (ids are unguessable UUIDs, the URLs permanent); \"signed\": only a viewer the API signed a CloudFront URL for (with sign-in, only the owner), valid image_url_ttl_seconds. null (default): \"signed\" with auth = \"cognito\", else \"public\". enable_cdn = false ignores it: presigned S3 GETs (download_url_ttl_seconds)."
  type        = string
  default     = null

  validation {
    condition     = var.image_access == null || contains(["public", "signed"], coalesce(var.image_access, "public"))
    error_message = "image_access must be null, \"public\" or \"signed\"."
  }
}

variable "image_url_ttl_seconds" {
  description = "Lifetime of a signed image URL (image_access = \"signed\"), 60-604800 seconds (default one hour); the API rounds each expiry up to the next minute so a polling page gets the same URL back."
  type        = number
  default     = 3600

  validation {
    condition     = var.image_url_ttl_seconds >= 60 && var.image_url_ttl_seconds <= 604800 && floor(var.image_url_ttl_seconds) == var.image_url_ttl_seconds
    error_message = "image_url_ttl_seconds must be an integer between 60 and 604800 (7 days)."
  }
}

variable "image_signing_public_keys" {
  description = "image_access = \"signed\": PEM RSA-2048 public keys of the distribution's trusted key group, by a short name; one, or two while rotating (docs/cdn.md, \"Key rotation\"). The private key of the one that signs (image_signing_key) lives in the SSM SecureString parameter /<name_prefix>/image-signing/<name>, created by the operator: never in this repository or the Terraform state."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.image_signing_public_keys) <= 2 && alltrue([for name, pem in var.image_signing_public_keys : can(regex("^[A-Za-z0-9_-]{1,32}$", name)) && startswith(trimspace(pem), "-----BEGIN PUBLIC KEY-----")])
    error_message = "image_signing_public_keys holds at most two PEM public keys (\"-----BEGIN PUBLIC KEY-----\"), named by 1-32 letters, digits, '-' or '_'."
  }

  # Signed delivery on AWS needs a key in the group (the emulator serves no CloudFront traffic).
  validation {
    condition     = !(var.enable_cdn && var.emulator_endpoint == null && coalesce(var.image_access, var.auth == "cognito" ? "signed" : "public") == "signed") || length(var.image_signing_public_keys) > 0
    error_message = "image_access \"signed\" (the default with auth = \"cognito\") needs image_signing_public_keys: make a key pair (docs/cdn.md, \"Signing keys\"), store the private key in SSM and pass the public one; or set image_access = \"public\"."
  }
}

variable "image_signing_key" {
  description = "Name (in image_signing_public_keys) of the key the API signs with; null (default): the only key. Required while two keys are listed (rotation)."
  type        = string
  default     = null

  validation {
    condition     = var.image_signing_key == null ? length(var.image_signing_public_keys) < 2 : contains(keys(var.image_signing_public_keys), coalesce(var.image_signing_key, "-"))
    error_message = "image_signing_key must name one of image_signing_public_keys, and is required when two keys are listed."
  }
}

variable "enable_waf" {
  description = "Attach WAFv2 web ACLs with a per-IP rate-based rule to the API stage (REGIONAL) and, with enable_cdn, to the distribution (CLOUDFRONT, created in us-east-1), so one client cannot use up the stage-wide throttle. Off by default: each web ACL costs a monthly fee plus a per-request charge."
  type        = bool
  default     = false
}

variable "waf_rate_limit_per_5_minutes" {
  description = "With enable_waf: requests one client IP may make in any 5-minute window before WAF blocks it, 10-2000000000 (default 500, about 1.7 per second)."
  type        = number
  default     = 500

  validation {
    condition     = var.waf_rate_limit_per_5_minutes >= 10 && var.waf_rate_limit_per_5_minutes <= 2000000000 && floor(var.waf_rate_limit_per_5_minutes) == var.waf_rate_limit_per_5_minutes
    error_message = "waf_rate_limit_per_5_minutes must be an integer between 10 and 2000000000."
  }
}

################################################################################
# Sign-in (auth)
################################################################################

variable "auth" {
  description = "Who may use the API. Allowed: \"none\" (default: anonymous uploads, the original flow) or \"cognito\" (a Cognito user pool; every route but the CORS preflight needs a signed-in user's ID token, checked by API Gateway and again by the function; each user sees, lists and deletes only their own uploads, within daily quotas)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "cognito"], var.auth)
    error_message = "auth must be one of: none, cognito."
  }

  # Without CloudFront the page is the S3 website endpoint, plain HTTP only: the sign-in form
  # would send passwords (and receive tokens) in clear text. The emulator serves http anyway.
  validation {
    condition     = var.auth != "cognito" || var.enable_cdn || var.emulator_endpoint != null
    error_message = "auth = \"cognito\" needs enable_cdn = true: without CloudFront the page is served over plain HTTP (the S3 website endpoint) and the sign-in form would send passwords unencrypted. Set enable_cdn = true, or auth = \"none\"."
  }
}

variable "auth_self_sign_up" {
  description = "With auth = \"cognito\": let people create their own account on the page (the email address is confirmed with an emailed code). false (default): only operators create users (tools/users.py create)."
  type        = bool
  default     = false
}

variable "auth_password_minimum_length" {
  description = "With auth = \"cognito\": shortest accepted password, 8-99 (lower and upper case, digits and symbols are always required)."
  type        = number
  default     = 12

  validation {
    condition     = var.auth_password_minimum_length >= 8 && var.auth_password_minimum_length <= 99 && floor(var.auth_password_minimum_length) == var.auth_password_minimum_length
    error_message = "auth_password_minimum_length must be an integer between 8 and 99."
  }
}

variable "auth_token_validity_minutes" {
  description = "With auth = \"cognito\": lifetime of ID tokens in minutes, 5-1440 (the page refreshes them silently before they expire)."
  type        = number
  default     = 60

  validation {
    condition     = var.auth_token_validity_minutes >= 5 && var.auth_token_validity_minutes <= 1440 && floor(var.auth_token_validity_minutes) == var.auth_token_validity_minutes
    error_message = "auth_token_validity_minutes must be an integer between 5 and 1440."
  }
}

variable "auth_refresh_token_validity_days" {
  description = "With auth = \"cognito\": lifetime of refresh tokens in days, 1-3650 (how long a browser tab stays signed in)."
  type        = number
  default     = 1

  validation {
    condition     = var.auth_refresh_token_validity_days >= 1 && var.auth_refresh_token_validity_days <= 3650 && floor(var.auth_refresh_token_validity_days) == var.auth_refresh_token_validity_days
    error_message = "auth_refresh_token_validity_days must be an integer between 1 and 3650."
  }
}

variable "auth_jwks_url" {
  description = "With auth = \"cognito\": where the API function fetches the pool's public keys (once per container). null (default): the pool's own https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json (on the emulator: the moto sidecar's copy)."
  type        = string
  default     = null

  validation {
    condition     = var.auth_jwks_url == null || can(regex("^https?://[^\\s]+$", var.auth_jwks_url))
    error_message = "auth_jwks_url must be null or an http(s) URL."
  }
}

variable "auth_jwks_json" {
  description = "With auth = \"cognito\": the pool's JWKS document itself, for an API function without internet access (a VPC without NAT): `python -m tools.users jwks > jwks.json` after the first apply, then auth_jwks_json = file(\"jwks.json\") and apply again. Cognito does not rotate a pool's keys. null (default): fetched from auth_jwks_url."
  type        = string
  default     = null

  validation {
    condition     = var.auth_jwks_json == null || can(length(jsondecode(var.auth_jwks_json).keys) > 0)
    error_message = "auth_jwks_json must be null or a JWKS document: a JSON object with a non-empty \"keys\" list."
  }
}

variable "auth_email_sender" {
  description = "With auth = \"cognito\": send the pool's emails (codes, temporary passwords) through Amazon SES instead of Cognito's built-in sender, which allows about 50 messages a day per account. ses_identity_arn: a verified SES identity (arn:aws:ses:<region>:<account>:identity/<domain or address>) in the pool's region, out of the SES sandbox to mail anyone; from_address: an address of that identity (optionally \"Name <address>\"); reply_to and configuration_set optional. null (default): Cognito's sender."
  type = object({
    ses_identity_arn  = string
    from_address      = string
    reply_to          = optional(string)
    configuration_set = optional(string)
  })
  default = null

  validation {
    condition     = var.auth_email_sender == null || can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^\\s/]+$", var.auth_email_sender.ses_identity_arn))
    error_message = "auth_email_sender.ses_identity_arn must be an SES identity ARN: arn:aws:ses:<region>:<account>:identity/<domain or address>."
  }

  # The sender must be the identity's own address, or an address at its domain (or a subdomain).
  validation {
    condition = var.auth_email_sender == null || try(anytrue([
      for pair in [[
        lower(element(split("identity/", var.auth_email_sender.ses_identity_arn), 1)),
        lower(try(regex("<([^<>]+)>\\s*$", var.auth_email_sender.from_address)[0], trimspace(var.auth_email_sender.from_address))),
        ]] : can(regex("^[^@<>\\s]+@[^@<>\\s]+$", pair[1])) && (strcontains(pair[0], "@")
        ? pair[1] == pair[0]
      : endswith(pair[1], "@${pair[0]}") || endswith(pair[1], ".${pair[0]}"))
    ]), false)
    error_message = "auth_email_sender.from_address must be an address (or \"Name <address>\") of the SES identity: the identity's own address, or an address at its domain."
  }

  validation {
    condition     = var.auth_email_sender == null || try(var.auth_email_sender.reply_to == null || can(regex("^[^@<>\\s]+@[^@<>\\s]+$", var.auth_email_sender.reply_to)), false)
    error_message = "auth_email_sender.reply_to must be null or an email address."
  }

  validation {
    condition     = var.auth_email_sender == null || try(var.auth_email_sender.configuration_set == null || can(regex("^[A-Za-z0-9_-]{1,64}$", var.auth_email_sender.configuration_set)), false)
    error_message = "auth_email_sender.configuration_set must be null or an SES configuration set name (letters, digits, _ and -, at most 64)."
  }
}

variable "auth_user_pool_deletion_protection" {
  description = "With auth = \"cognito\": refuse to delete the user pool and its users (terraform destroy included) until turned off. Always off on the emulator."
  type        = bool
  default     = true
}

variable "quota_uploads_per_day" {
  description = "With auth = \"cognito\": uploads each user may start per UTC day (1-1000000), counted when the API signs the upload; past it the API answers 429 with Retry-After. null: no limit."
  type        = number
  default     = 200

  validation {
    condition     = var.quota_uploads_per_day == null || try(var.quota_uploads_per_day >= 1 && var.quota_uploads_per_day <= 1000000 && floor(var.quota_uploads_per_day) == var.quota_uploads_per_day, false)
    error_message = "quota_uploads_per_day must be null or an integer between 1 and 1000000."
  }
}

variable "quota_bytes_per_day" {
  description = "With auth = \"cognito\": bytes (declared sizes) each user may upload per UTC day, at least 1; default 2 GiB. null: no limit."
  type        = number
  default     = 2147483648

  validation {
    condition     = var.quota_bytes_per_day == null || try(var.quota_bytes_per_day >= 1 && floor(var.quota_bytes_per_day) == var.quota_bytes_per_day, false)
    error_message = "quota_bytes_per_day must be null or a positive integer."
  }
}

################################################################################
# Operations: private network, alarms, tracing (docs/operations.md, docs/cost.md)
################################################################################

variable "enable_vpc" {
  description = "Attach both functions to a VPC with no internet access: private subnets in two availability zones, no NAT gateway and no internet gateway, gateway endpoints (free) for S3 and DynamoDB, a security group allowing only HTTPS to them; interface endpoints (billed per hour and zone, docs/cost.md) only for EventBridge with enable_events and SSM with signed image URLs (image_access). With vpc_subnet_ids, an existing VPC is used instead (it must route to those services itself)."
  type        = bool
  default     = false
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC created for enable_vpc: a private range (10/8, 172.16/12, 192.168/16) of /16 to /24; each subnet is the block's prefix + 8 bits, at most /26 (a /16 gives /24 subnets)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false) && can(regex("^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.)", var.vpc_cidr))
    error_message = "vpc_cidr must be a private IPv4 CIDR block (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix of /16 to /24, e.g. \"10.42.0.0/16\"."
  }
}

variable "vpc_availability_zones" {
  description = "Availability zones of the VPC's private subnets, one subnet each (2-6 distinct zones of var.region); [] (default): the first two, by name, that the account lists as available (the aws_availability_zones data source, plain availability zones only; zone letters differ per account and some regions have no \"a\" or \"b\"). Give zones when one the account lists refuses new subnets."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.vpc_availability_zones) == 0 || (length(var.vpc_availability_zones) >= 2 && length(var.vpc_availability_zones) <= 6 && length(distinct(var.vpc_availability_zones)) == length(var.vpc_availability_zones) && alltrue([for zone in var.vpc_availability_zones : startswith(zone, var.region)]))
    error_message = "vpc_availability_zones must be [] or 2-6 distinct availability zones of var.region, e.g. [\"us-east-1a\", \"us-east-1b\"]."
  }
}

variable "vpc_subnet_ids" {
  description = "Use an existing VPC (with enable_vpc = true): the subnets both functions are attached to (give at least two, in different zones). The subnets must reach S3 and DynamoDB (gateway endpoints, or a NAT). [] (default): the stack creates its own VPC."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.vpc_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "vpc_subnet_ids entries must be subnet ids (subnet-0123abcd...)."
  }

  validation {
    condition     = length(var.vpc_subnet_ids) == 0 ? length(var.vpc_security_group_ids) == 0 : (var.enable_vpc && length(var.vpc_security_group_ids) > 0)
    error_message = "An existing VPC needs enable_vpc = true, vpc_subnet_ids and at least one id in vpc_security_group_ids (and vpc_security_group_ids is only used with vpc_subnet_ids)."
  }
}

variable "vpc_security_group_ids" {
  description = "Security groups of both functions in an existing VPC (with vpc_subnet_ids): they must allow HTTPS out to S3 and DynamoDB."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.vpc_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))]) && length(var.vpc_security_group_ids) <= 5
    error_message = "vpc_security_group_ids must hold at most 5 security group ids (sg-0123abcd...)."
  }
}

variable "enable_tracing" {
  description = "X-Ray active tracing on both functions and the API stage. The upload's API request id and trace id are kept in its record and logged by the processor (S3 events carry no trace)."
  type        = bool
  default     = false
}

variable "enable_events" {
  description = "Publish each upload's outcome (processed, rejected, failed, deleted) to Amazon EventBridge (docs/events.md). No idle cost without a VPC; with enable_vpc it adds an EventBridge interface endpoint (billed per hour and zone)."
  type        = bool
  default     = true
}

variable "event_bus_name" {
  description = "With enable_events: publish to this existing bus (same region and account) instead of the stack's own \"<name_prefix>-uploads\"; null (default): the stack's own."
  type        = string
  default     = null
}

variable "event_archive_retention_days" {
  description = "With enable_events: archive the outcome events for replay this many days (0: for ever); null (default): no archive."
  type        = number
  default     = null

  validation {
    condition     = var.event_archive_retention_days == null || try(var.event_archive_retention_days >= 0 && floor(var.event_archive_retention_days) == var.event_archive_retention_days, false)
    error_message = "event_archive_retention_days must be null or an integer >= 0."
  }
}

variable "event_webhook_url" {
  description = "With enable_events: an https:// endpoint outside AWS that receives every outcome event (API destination with a secret header whose value is set outside Terraform, docs/events.md); null (default): none."
  type        = string
  default     = null

  validation {
    condition     = var.event_webhook_url == null || can(regex("^https://[^/\\s]+(/\\S*)?$", var.event_webhook_url))
    error_message = "event_webhook_url must be null or an https:// URL."
  }
}

variable "event_webhook_secret_header_name" {
  description = "Name of the webhook's secret header (the value is never a Terraform input)."
  type        = string
  default     = "X-Pipeline-Secret"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,64}$", var.event_webhook_secret_header_name))
    error_message = "event_webhook_secret_header_name must be 1-64 letters, digits or '-'."
  }
}

variable "event_url_ttl_seconds" {
  description = "Lifetime of the presigned variant URLs in processed events, 1-43200 seconds (a URL signed by the function's role also ends with its session, at most 12 hours)."
  type        = number
  default     = 3600

  validation {
    condition     = var.event_url_ttl_seconds >= 1 && var.event_url_ttl_seconds <= 43200 && floor(var.event_url_ttl_seconds) == var.event_url_ttl_seconds
    error_message = "event_url_ttl_seconds must be an integer between 1 and 43200."
  }
}

variable "enable_alarms" {
  description = "CloudWatch alarms (dead letters, processor errors, throttles and duration, API 5xx and 4xx spike), the dashboard, and the processor's own metrics (EMF log lines: images processed, rejected by code, per-stage milliseconds)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Email address notified by every alarm (through a new SNS topic; the address must confirm the subscription); null (default): no topic."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be null or an email address such as ops@example.com."
  }
}

variable "alarm_actions" {
  description = "More ARNs (an existing SNS topic, ...) every alarm notifies when it fires and when it clears."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:aws[a-z-]*:", arn))]) && length(var.alarm_actions) <= 4
    error_message = "alarm_actions must hold at most 4 ARNs (with alarm_email's topic CloudWatch allows 5 actions)."
  }
}

variable "alarm_period_seconds" {
  description = "Period of every alarm in seconds (one breaching period raises it): a multiple of 60 from 60 to 86400. Default 300."
  type        = number
  default     = 300

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds <= 86400 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60 between 60 and 86400."
  }
}

variable "alarm_api_4xx_threshold" {
  description = "API 4xx answers within one alarm period (5 minutes by default) that raise the 4xx spike alarm, 1-1000000."
  type        = number
  default     = 50

  validation {
    condition     = var.alarm_api_4xx_threshold >= 1 && var.alarm_api_4xx_threshold <= 1000000 && floor(var.alarm_api_4xx_threshold) == var.alarm_api_4xx_threshold
    error_message = "alarm_api_4xx_threshold must be an integer between 1 and 1000000."
  }
}

variable "alarm_processor_duration_percent" {
  description = "Percentage of the processor's timeout its longest invocation within one alarm period may reach before the duration alarm, 10-100."
  type        = number
  default     = 80

  validation {
    condition     = var.alarm_processor_duration_percent >= 10 && var.alarm_processor_duration_percent <= 100
    error_message = "alarm_processor_duration_percent must be between 10 and 100."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the processor's own metrics (dimension Service = name_prefix): letters, digits and . _ - / # :, not starting with AWS/."
  type        = string
  default     = "ImagePipeline"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ - / # : and must not start with \"AWS/\"."
  }
}
