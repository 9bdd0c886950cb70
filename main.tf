locals {
  # Key prefix of originals in the upload bucket (docs/architecture.md).
  upload_prefix = local.rules.upload_prefix

  artifacts_dir = startswith(var.artifacts_dir, "/") ? var.artifacts_dir : "${path.root}/${var.artifacts_dir}"

  emulator = var.emulator_endpoint != null

  # The page's own origin is always allowed; allowed_origins adds more. Built
  # with concat (not distinct) so the list length is known at plan time even
  # though the website endpoint is not.
  web_origin      = local.emulator ? var.emulator_endpoint : module.web_site.website_origin
  allowed_origins = concat([local.web_origin], var.allowed_origins)

  # The processor's retry policy, as the status API needs it: every attempt, Lambda's retry
  # delays (1 min, then 2 min) and a minute of slack; never past the oldest event Lambda retries.
  processing_attempts = var.processor_max_retry_attempts + 1
  retry_delays        = 60 * var.processor_max_retry_attempts * (var.processor_max_retry_attempts + 1) / 2
  processing_window_seconds = 60 + min(
    local.processing_attempts * var.processor_timeout_seconds + local.retry_delays,
    var.processor_max_event_age_seconds + var.processor_timeout_seconds,
  )

  # On the local emulator, DynamoDB is served by the moto sidecar (LocalStack community's
  # DynamoDB downloads DynamoDB Local at first use, which an offline machine cannot).
  emulator_environment = var.emulator_sidecar_endpoint == null ? {} : {
    AWS_ENDPOINT_URL_DYNAMODB = var.emulator_sidecar_endpoint
  }

  # enable_vpc: the stack's own private network, or the subnets and security groups given.
  existing_vpc = length(var.vpc_subnet_ids) > 0
  create_vpc   = var.enable_vpc && !local.existing_vpc
  vpc_azs      = length(var.vpc_availability_zones) > 0 ? var.vpc_availability_zones : ["${var.region}a", "${var.region}b"]
  vpc_prefix   = tonumber(split("/", var.vpc_cidr)[1])
  function_vpc_subnet_ids = (!var.enable_vpc ? null
    : local.existing_vpc ? var.vpc_subnet_ids : module.network[0].private_subnet_ids
  )
  function_vpc_security_group_ids = (!var.enable_vpc ? []
    : local.existing_vpc ? var.vpc_security_group_ids : [module.network[0].function_security_group_id]
  )

  api_url = (local.emulator
    ? "${var.emulator_endpoint}/_aws/execute-api/${module.api.rest_api_id}/${module.api.stage_name}"
    : module.api.invoke_url
  )
  web_url = (local.emulator
    ? "${var.emulator_endpoint}/${module.web_site.bucket_id}/index.html"
    : module.web_site.website_url
  )
}

module "storage" {
  source = "./modules/storage"

  name_prefix                 = var.name_prefix
  bucket_name_suffix          = var.bucket_name_suffix
  upload_prefix               = local.upload_prefix
  upload_cors_allowed_origins = local.allowed_origins
  output_cors_allowed_origins = local.allowed_origins
  upload_retention_days       = var.upload_retention_days
  output_expiration_days      = var.output_retention_days
  kms_key_arn                 = var.kms_key_arn
  force_destroy               = var.force_destroy_buckets || local.emulator
}

module "uploads_table" {
  source = "./modules/uploads_table"

  name                   = "${var.name_prefix}-uploads"
  point_in_time_recovery = var.uploads_table_point_in_time_recovery
  deletion_protection    = var.uploads_table_deletion_protection && !local.emulator
  kms_key_arn            = var.kms_key_arn
}

module "network" {
  source = "./modules/network"
  count  = local.create_vpc ? 1 : 0

  name               = var.name_prefix
  region             = var.region
  availability_zones = local.vpc_azs
  cidr_block         = var.vpc_cidr
  subnet_newbits     = min(8, 26 - local.vpc_prefix)

  # Through the endpoints, only the stack's own buckets and table, with the functions' actions.
  s3_endpoint_statements = [
    {
      sid       = "StackObjects"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${module.storage.upload_bucket_arn}/*", "${module.storage.output_bucket_arn}/*"]
    },
    {
      sid       = "StackBuckets"
      actions   = ["s3:ListBucket"]
      resources = [module.storage.upload_bucket_arn]
    },
  ]
  dynamodb_endpoint_statements = [
    {
      sid       = "UploadsTable"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      resources = [module.uploads_table.arn, "${module.uploads_table.arn}/index/*"]
    },
  ]
}

module "sdk_layer" {
  source = "./modules/lambda_layer"

  name         = "${var.name_prefix}-sdk"
  description  = "The AWS SDK both functions are tested with (lambda_src/requirements-sdk-layer.txt)"
  package_path = "${local.artifacts_dir}/sdk-layer.zip"
}

module "api" {
  source = "./modules/api"

  name         = "${var.name_prefix}-api"
  role_name    = "${var.name_prefix}-api-${var.region}"
  package_path = "${local.artifacts_dir}/api.zip"
  architecture = var.architecture

  shared_layer_arns = [module.sdk_layer.arn]

  log_retention_days = var.log_retention_days
  log_level          = var.log_level

  upload_bucket_id         = module.storage.upload_bucket_id
  upload_bucket_arn        = module.storage.upload_bucket_arn
  output_bucket_id         = module.storage.output_bucket_id
  output_bucket_arn        = module.storage.output_bucket_arn
  upload_prefix            = local.upload_prefix
  kms_key_arn              = var.kms_key_arn
  allowed_content_types    = var.allowed_content_types
  max_upload_bytes         = var.max_upload_bytes
  upload_url_ttl_seconds   = var.upload_url_ttl_seconds
  download_url_ttl_seconds = var.download_url_ttl_seconds
  allowed_origins          = local.allowed_origins

  stage_name                    = var.api_stage_name
  throttling_burst_limit        = var.api_throttle_burst_limit
  throttling_rate_limit         = var.api_throttle_rate_limit
  access_log_enabled            = var.api_access_log_enabled
  gateway_response_allow_origin = local.web_origin

  processing_attempts       = local.processing_attempts
  processing_window_seconds = local.processing_window_seconds

  uploads_table_name          = module.uploads_table.name
  uploads_table_arn           = module.uploads_table.arn
  uploads_owner_index_arn     = module.uploads_table.owner_index_arn
  record_retention_days       = var.output_retention_days
  extra_environment_variables = local.emulator_environment

  region                 = var.region
  vpc_subnet_ids         = local.function_vpc_subnet_ids
  vpc_security_group_ids = local.function_vpc_security_group_ids
  tracing_enabled        = var.enable_tracing
}

module "processor" {
  source = "./modules/processor"

  name               = "${var.name_prefix}-processor"
  role_name          = "${var.name_prefix}-processor-${var.region}"
  package_path       = "${local.artifacts_dir}/processor.zip"
  layer_package_path = "${local.artifacts_dir}/pillow-layer-${var.architecture}.zip"
  architecture       = var.architecture
  shared_layer_arns  = [module.sdk_layer.arn]

  memory_size                    = var.processor_memory_mb
  timeout                        = var.processor_timeout_seconds
  reserved_concurrent_executions = var.processor_reserved_concurrency
  maximum_retry_attempts         = var.processor_max_retry_attempts
  maximum_event_age_in_seconds   = var.processor_max_event_age_seconds
  log_retention_days             = var.log_retention_days
  log_level                      = var.log_level

  upload_bucket_id  = module.storage.upload_bucket_id
  upload_bucket_arn = module.storage.upload_bucket_arn
  output_bucket_id  = module.storage.output_bucket_id
  output_bucket_arn = module.storage.output_bucket_arn
  upload_prefix     = local.upload_prefix
  kms_key_arn       = var.kms_key_arn

  max_upload_bytes = var.max_upload_bytes
  max_pixels       = var.max_pixels
  allowed_formats  = [for t in var.allowed_content_types : local.rules.content_types[t]]
  variants         = var.variants

  uploads_table_name          = module.uploads_table.name
  uploads_table_arn           = module.uploads_table.arn
  record_retention_days       = var.output_retention_days
  processing_attempts         = local.processing_attempts
  extra_environment_variables = local.emulator_environment

  region                 = var.region
  vpc_subnet_ids         = local.function_vpc_subnet_ids
  vpc_security_group_ids = local.function_vpc_security_group_ids
  tracing_enabled        = var.enable_tracing

  metrics_namespace = var.enable_alarms ? var.metrics_namespace : null
  metrics_service   = var.name_prefix
}

module "alarms" {
  source = "./modules/alarms"
  count  = var.enable_alarms ? 1 : 0

  name                      = var.name_prefix
  region                    = var.region
  processor_function_name   = module.processor.function_name
  processor_timeout_seconds = var.processor_timeout_seconds
  processor_duration_ratio  = var.alarm_processor_duration_percent / 100
  dead_letter_queue_name    = module.processor.dead_letter_queue_name
  api_name                  = module.api.rest_api_name
  api_stage_name            = module.api.stage_name
  api_4xx_threshold         = var.alarm_api_4xx_threshold
  period_seconds            = var.alarm_period_seconds
  metrics_namespace         = var.metrics_namespace
  metrics_service           = var.name_prefix
  alarm_email               = var.alarm_email
  alarm_actions             = var.alarm_actions
}

module "web_site" {
  source = "./modules/web_site"

  name_prefix        = var.name_prefix
  bucket_name_suffix = var.bucket_name_suffix
  source_dir         = "${path.root}/web"

  # Shape: docs/architecture.md ("The page's config.json").
  config = {
    apiUrl       = local.api_url
    maxBytes     = var.max_upload_bytes
    allowedTypes = var.allowed_content_types
    variants = [for v in var.variants : {
      name    = v.name
      maxEdge = v.max_edge
      format  = v.format
    }]
    # The page checks the variants above with the same rules as Terraform and the functions.
    variantRules = {
      namePattern = local.rules.variant.name_pattern
      maxEdge     = local.rules.variant.max_edge
      formats     = keys(local.rules.output_formats)
      count       = local.rules.variant.count
    }
  }
}
