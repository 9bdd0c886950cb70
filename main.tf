locals {
  # Key prefix of originals in the upload bucket (docs/architecture.md).
  upload_prefix = local.rules.upload_prefix

  artifacts_dir = startswith(var.artifacts_dir, "/") ? var.artifacts_dir : "${path.root}/${var.artifacts_dir}"

  emulator = var.emulator_endpoint != null

  # How the page reaches browsers: through CloudFront (HTTPS, private bucket), the public S3
  # website endpoint (HTTP), or, on the emulator, path-style from its S3 (moto's CloudFront
  # serves no traffic, so enable_cdn there only creates the distribution's control plane).
  web_delivery = local.emulator ? "emulator" : (var.enable_cdn ? "cloudfront" : "s3-website")

  # The page's own origin is always allowed; allowed_origins adds more. Built
  # with concat (not distinct) so the list length is known at plan time even
  # though the distribution's (or website endpoint's) name is not.
  web_origin = (local.emulator
    ? var.emulator_endpoint
    : var.enable_cdn ? module.cdn[0].origin : module.web_site.website_origin
  )
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

  # Originals are kept for reprocessing: with sign-in until the owner deletes the upload, else
  # a bounded default (30 days, like the outputs); 0 keeps them for ever in either mode.
  original_retention_days = (var.upload_retention_days == null
    ? (local.signed_in ? null : 30)
    : var.upload_retention_days == 0 ? null : var.upload_retention_days
  )

  # enable_vpc: the stack's own private network, or the subnets and security groups given.
  existing_vpc = length(var.vpc_subnet_ids) > 0
  create_vpc   = var.enable_vpc && !local.existing_vpc
  vpc_prefix   = tonumber(split("/", var.vpc_cidr)[1])
  function_vpc_subnet_ids = (!var.enable_vpc ? null
    : local.existing_vpc ? var.vpc_subnet_ids : module.network[0].private_subnet_ids
  )
  function_vpc_security_group_ids = (!var.enable_vpc ? []
    : local.existing_vpc ? var.vpc_security_group_ids : [module.network[0].function_security_group_id]
  )

  # Sign-in (auth = "cognito"). On the emulator the pool lives in the moto sidecar, which also
  # serves its keys; the tokens' issuer stays the real AWS issuer string.
  signed_in = var.auth == "cognito"
  cognito_endpoint = (var.emulator_sidecar_endpoint != null
    ? "${var.emulator_sidecar_endpoint}/"
    : "https://cognito-idp.${var.region}.amazonaws.com/"
  )
  auth_jwks_url = (var.auth_jwks_url != null || !local.signed_in ? var.auth_jwks_url
    : var.emulator_sidecar_endpoint != null
    ? "${var.emulator_sidecar_endpoint}/${module.auth[0].user_pool_id}/.well-known/jwks.json"
    : null
  )

  api_url = (local.emulator
    ? "${var.emulator_endpoint}/_aws/execute-api/${module.api.rest_api_id}/${module.api.stage_name}"
    : module.api.invoke_url
  )
  web_url = (local.emulator
    ? "${var.emulator_endpoint}/${module.web_site.bucket_id}/index.html"
    : var.enable_cdn ? module.cdn[0].url : module.web_site.website_url
  )

  # Where the page's scripts connect and what its images load from, for the CloudFront
  # Content-Security-Policy header: the API, the upload bucket (presigned PUTs) and the output
  # bucket (presigned GETs), at the regional virtual-host names lambda_src/common/s3_client.py
  # presigns; with sign-in also Cognito, which the page calls itself. Same directives as
  # web/index.html's meta CSP, narrowed to these origins.
  # (From the API's id, not the stage's invoke URL: the stage depends on the function, whose
  # allowed origins depend on the distribution, which carries this policy.) The emulator serves
  # all three from one origin, path-style: there each source is the path prefix playing that
  # role (any API of the emulator: the id is not known at plan time), so a policy missing one
  # still blocks it (the browser tests enforce the deployed policy, tests/e2e/conftest.py).
  api_origin    = local.emulator ? "${var.emulator_endpoint}/_aws/execute-api/" : "https://${module.api.rest_api_id}.execute-api.${var.region}.${data.aws_partition.current.dns_suffix}"
  upload_origin = local.emulator ? "${var.emulator_endpoint}/${module.storage.upload_bucket_id}/" : "https://${module.storage.upload_bucket_id}.s3.${var.region}.${data.aws_partition.current.dns_suffix}"
  # Images come from the distribution itself ('self') on AWS; the page sees the output bucket's
  # host only for presigned GETs (no distribution) and on the emulator, whose S3 serves the paths.
  images_from_output_bucket = local.emulator || local.delivery_mode == "presigned"
  output_origin             = local.emulator ? "${var.emulator_endpoint}/${module.storage.output_bucket_id}/" : "https://${module.storage.output_bucket_id}.s3.${var.region}.${data.aws_partition.current.dns_suffix}"
  content_security_policy = join("; ", [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src ${join(" ", concat(["'self'", "data:", "blob:"], local.images_from_output_bucket ? [local.output_origin] : []))}",
    "connect-src 'self' ${join(" ", distinct(concat([local.api_origin, local.upload_origin], local.signed_in ? [trimsuffix(local.cognito_endpoint, "/")] : [])))}",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ])

  # What both functions share (modules/lambda_function settings), the buckets and the uploads
  # table: built once here, passed to modules/api and modules/processor as typed objects.
  function_settings = {
    region             = var.region
    architecture       = var.architecture
    log_level          = var.log_level
    log_retention_days = var.log_retention_days
    tracing_enabled    = var.enable_tracing
    shared_layer_arns  = [module.sdk_layer.arn]
    vpc = var.enable_vpc ? {
      subnet_ids         = local.function_vpc_subnet_ids
      security_group_ids = local.function_vpc_security_group_ids
    } : null
    extra_environment_variables = local.emulator_environment
  }
  buckets = {
    upload        = { id = module.storage.upload_bucket_id, arn = module.storage.upload_bucket_arn }
    output        = { id = module.storage.output_bucket_id, arn = module.storage.output_bucket_arn }
    upload_prefix = local.upload_prefix
    kms_key_arn   = var.kms_key_arn
  }
  uploads_table = {
    name                  = module.uploads_table.name
    arn                   = module.uploads_table.arn
    owner_index_arn       = module.uploads_table.owner_index_arn
    record_retention_days = local.output_retention_days
  }

  # Outputs' lifetime by mode (variables.tf output_retention_days): null = never expire.
  output_retention_days = (var.output_retention_days == null
    ? (local.signed_in ? null : 30)
    : (var.output_retention_days == 0 ? null : var.output_retention_days)
  )

  # How the API hands out variant URLs (lambda_src/api/delivery.py, docs/cdn.md): presigned S3
  # GETs without the CDN; with it, the distribution's URL, public or CloudFront-signed. The
  # emulator serves the same paths from its S3 (moto's CloudFront serves nothing); it refuses
  # CloudFront's query signature (an incomplete SigV2 query to LocalStack), so there "signed"
  # hands out its time-limited stand-in, presigned S3 GETs.
  image_access    = coalesce(var.image_access, local.signed_in ? "signed" : "public")
  signed_images   = var.enable_cdn && local.image_access == "signed"
  image_key_names = sort(keys(var.image_signing_public_keys))
  image_signing_key = (length(local.image_key_names) == 0 ? null
    : coalesce(var.image_signing_key, local.image_key_names[0])
  )
  image_signing_parameter = local.image_signing_key == null ? null : "/${var.name_prefix}/image-signing/${local.image_signing_key}"
  image_signing_parameter_arn = (local.image_signing_parameter == null ? null
    : "arn:${data.aws_partition.current.partition}:ssm:${var.region}:*:parameter${local.image_signing_parameter}"
  )
  delivery_mode = (!var.enable_cdn ? "presigned"
    : local.emulator && local.signed_images ? "presigned"
    : local.image_access
  )
  delivery = {
    mode = local.delivery_mode
    base_url = (local.delivery_mode == "presigned" ? null
      : local.emulator ? "${var.emulator_endpoint}/${module.storage.output_bucket_id}"
      : module.cdn[0].origin
    )
    ttl_seconds               = local.delivery_mode == "signed" ? var.image_url_ttl_seconds : (local.delivery_mode == "presigned" ? var.download_url_ttl_seconds : null)
    key_pair_id               = local.delivery_mode == "signed" ? module.cdn[0].image_public_key_ids[local.image_signing_key] : null
    private_key_parameter     = local.delivery_mode == "signed" ? local.image_signing_parameter : null
    private_key_parameter_arn = local.delivery_mode == "signed" ? local.image_signing_parameter_arn : null
  }

  # The API's role by name and account: the SSM endpoint admits only it. Not module.api's
  # output: the role's tags come with the function's settings, which wait for the network (a
  # cycle). The account is read from an ARN the stack makes anyway (a data source would ask STS
  # at every plan).
  api_role_name = "${var.name_prefix}-api-${var.region}"
  api_role_arn  = "arn:${data.aws_partition.current.partition}:iam::${split(":", module.uploads_table.arn)[4]}:role/${local.api_role_name}"

  event_bus = var.enable_events ? {
    name   = module.events[0].bus_name
    arn    = module.events[0].bus_arn
    source = module.events[0].source_name
  } : null
  processor_event_bus = var.enable_events ? {
    name            = module.events[0].bus_name
    arn             = module.events[0].bus_arn
    source          = module.events[0].source_name
    url_ttl_seconds = var.event_url_ttl_seconds
  } : null

  api_stage_arn = "arn:${data.aws_partition.current.partition}:apigateway:${var.region}::/restapis/${module.api.rest_api_id}/stages/${module.api.stage_name}"
}

data "aws_partition" "current" {}

module "storage" {
  source = "./modules/storage"

  name_prefix                    = var.name_prefix
  bucket_name_suffix             = var.bucket_name_suffix
  upload_prefix                  = local.upload_prefix
  upload_cors_allowed_origins    = local.allowed_origins
  output_cors_allowed_origins    = local.allowed_origins
  upload_retention_days          = local.original_retention_days
  original_archive_days          = var.original_archive_days
  original_archive_storage_class = var.original_archive_storage_class
  output_expiration_days         = local.output_retention_days
  kms_key_arn                    = var.kms_key_arn
  # Behind the distribution (enable_cdn): only it reads outputs, through origin access control.
  output_cloudfront_reader = var.enable_cdn ? { distribution_arn = module.cdn[0].distribution_arn } : null
  force_destroy            = var.force_destroy_buckets || local.emulator
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
  availability_zones = var.vpc_availability_zones # []: the account's available zones
  cidr_block         = var.vpc_cidr
  subnet_newbits     = min(8, 26 - local.vpc_prefix)

  # Through the endpoints, only the stack's own buckets and tables, with the functions' actions
  # (the roles narrow them further; deleting and the quota table are sign-in's).
  s3_endpoint_statements = [
    {
      sid       = "StackObjects"
      actions   = local.signed_in ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject", "s3:PutObject"]
      resources = ["${module.storage.upload_bucket_arn}/*", "${module.storage.output_bucket_arn}/*"]
    },
    {
      sid       = "StackBuckets"
      actions   = ["s3:ListBucket"]
      resources = local.signed_in ? [module.storage.upload_bucket_arn, module.storage.output_bucket_arn] : [module.storage.upload_bucket_arn]
    },
  ]
  # Interface endpoints are billed per hour and zone (docs/cost.md): only for a call the
  # functions make. Outcome events (both functions publish) with events on; the API's signing
  # key read (ssm:GetParameter, WithDecryption: SSM decrypts with its key on its own side, so no
  # KMS endpoint) only when it signs image URLs, and by the API's role only.
  interface_endpoints = merge(
    var.enable_events ? {
      events = {
        service    = "events"
        label      = "EventBridge"
        statements = [{ sid = "StackBus", actions = ["events:PutEvents"], resources = [module.events[0].bus_arn] }]
      }
    } : {},
    local.delivery_mode == "signed" ? {
      ssm = {
        service = "ssm"
        label   = "Systems Manager (SSM)"
        statements = [{
          sid            = "ImageSigningKey"
          actions        = ["ssm:GetParameter"]
          resources      = [local.image_signing_parameter_arn]
          principal_arns = [local.api_role_arn]
        }]
      }
    } : {},
  )
  dynamodb_endpoint_statements = [
    {
      sid     = "StackTables"
      actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      resources = concat(
        [module.uploads_table.arn, "${module.uploads_table.arn}/index/*"],
        local.signed_in ? [module.auth[0].quota_table_arn] : [],
      )
    },
  ]
}

# Outcome events (docs/events.md): the functions publish to this bus themselves.
module "events" {
  source = "./modules/events"
  count  = var.enable_events ? 1 : 0

  name                       = "${var.name_prefix}-uploads"
  existing_bus_name          = var.event_bus_name
  source_name                = "image-pipeline.${var.name_prefix}"
  archive_retention_days     = var.event_archive_retention_days
  webhook_url                = var.event_webhook_url
  webhook_secret_header_name = var.event_webhook_secret_header_name
}

module "auth" {
  source = "./modules/auth"
  count  = local.signed_in ? 1 : 0

  name                        = "${var.name_prefix}-users"
  self_sign_up                = var.auth_self_sign_up
  password_minimum_length     = var.auth_password_minimum_length
  id_token_validity_minutes   = var.auth_token_validity_minutes
  refresh_token_validity_days = var.auth_refresh_token_validity_days
  email_sender                = var.auth_email_sender
  deletion_protection         = var.auth_user_pool_deletion_protection && !local.emulator
  kms_key_arn                 = var.kms_key_arn
}

# A function in the stack's VPC cannot reach the internet, so it cannot fetch the user pool's
# keys: sign-in needs them supplied (docs/operations.md). A warning, not an error: the pool
# must exist (first apply) before its keys can be read.
check "sign_in_keys_reachable_from_the_vpc" {
  assert {
    condition     = !(local.create_vpc && local.signed_in && var.auth_jwks_json == null && var.auth_jwks_url == null && !local.emulator)
    error_message = "enable_vpc with auth = \"cognito\": the API has no route to the pool's JWKS. Run `python -m tools.users jwks > jwks.json`, set auth_jwks_json = file(\"jwks.json\") and apply again."
  }
}

module "sdk_layer" {
  source = "./modules/lambda_layer"

  name         = "${var.name_prefix}-sdk"
  description  = "The AWS SDK both functions are tested with (lambda_src/requirements-sdk-layer.txt)"
  package_path = "${local.artifacts_dir}/sdk-layer-${var.architecture}.zip"
  architecture = var.architecture # the functions' (build.sh --arch builds both layers for it)
}

module "api" {
  source = "./modules/api"

  name         = "${var.name_prefix}-api"
  role_name    = local.api_role_name
  package_path = "${local.artifacts_dir}/api.zip"

  function_settings = local.function_settings
  buckets           = local.buckets
  uploads_table     = local.uploads_table
  routes            = local.rules.routes

  allowed_content_types     = var.allowed_content_types
  max_upload_bytes          = var.max_upload_bytes
  multipart_threshold_bytes = var.multipart_threshold_bytes
  upload_url_ttl_seconds    = var.upload_url_ttl_seconds
  download_url_ttl_seconds  = var.download_url_ttl_seconds
  allowed_origins           = local.allowed_origins
  delivery                  = local.delivery

  stage_name                    = var.api_stage_name
  throttling_burst_limit        = var.api_throttle_burst_limit
  throttling_rate_limit         = var.api_throttle_rate_limit
  access_log_enabled            = var.api_access_log_enabled
  gateway_response_allow_origin = local.web_origin

  processing_attempts       = local.processing_attempts
  processing_window_seconds = local.processing_window_seconds
  event_bus                 = local.event_bus

  auth = local.signed_in ? {
    user_pool_arn    = module.auth[0].user_pool_arn
    issuer           = module.auth[0].issuer
    client_id        = module.auth[0].client_id
    jwks_url         = local.auth_jwks_url
    jwks_json        = var.auth_jwks_json
    quota_table_name = module.auth[0].quota_table_name
    quota_table_arn  = module.auth[0].quota_table_arn
    uploads_per_day  = var.quota_uploads_per_day
    bytes_per_day    = var.quota_bytes_per_day
  } : null
}

module "processor" {
  source = "./modules/processor"

  name               = "${var.name_prefix}-processor"
  role_name          = "${var.name_prefix}-processor-${var.region}"
  package_path       = "${local.artifacts_dir}/processor.zip"
  layer_package_path = "${local.artifacts_dir}/pillow-layer-${var.architecture}.zip"

  function_settings = local.function_settings
  buckets           = local.buckets
  uploads_table     = local.uploads_table

  memory_size                    = var.processor_memory_mb
  timeout                        = var.processor_timeout_seconds
  reserved_concurrent_executions = var.processor_reserved_concurrency
  maximum_retry_attempts         = var.processor_max_retry_attempts
  maximum_event_age_in_seconds   = var.processor_max_event_age_seconds

  max_upload_bytes = var.max_upload_bytes
  max_pixels       = var.max_pixels
  allowed_formats  = distinct([for t in var.allowed_content_types : local.rules.content_types[t]])
  variants         = var.variants

  processing_attempts   = local.processing_attempts
  erase_deleted_uploads = local.signed_in
  event_bus             = local.processor_event_bus

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

  delivery                    = var.enable_cdn ? "cloudfront" : "s3-website"
  cloudfront_distribution_arn = try(module.cdn[0].distribution_arn, null)

  # Shape: docs/architecture.md ("The page's config.json").
  config = {
    apiUrl       = local.api_url
    maxBytes     = var.max_upload_bytes
    multipart    = { thresholdBytes = var.multipart_threshold_bytes }
    allowedTypes = var.allowed_content_types
    variants = [for v in var.variants : {
      name    = v.name
      maxEdge = v.max_edge
      formats = [for f in v.formats : f.format]
    }]
    # Sign-in: the page talks to Cognito itself (USER_PASSWORD_AUTH with the public client).
    # Shape: docs/architecture.md; every key but mode is null with auth = "none".
    auth = {
      mode              = var.auth
      region            = local.signed_in ? var.region : null
      userPoolId        = try(module.auth[0].user_pool_id, null)
      clientId          = try(module.auth[0].client_id, null)
      endpoint          = local.signed_in ? local.cognito_endpoint : null
      selfSignUp        = local.signed_in ? var.auth_self_sign_up : null
      passwordMinLength = local.signed_in ? var.auth_password_minimum_length : null
    }
    # What the variant links are (the page's footer): docs/cdn.md.
    delivery = {
      mode        = local.delivery.mode
      ttl_seconds = local.delivery.ttl_seconds
    }
    # The page checks the variants above with the same rules as Terraform and the functions.
    variantRules = {
      namePattern = local.rules.variant.name_pattern
      maxEdge     = local.rules.variant.max_edge
      formats     = keys(local.rules.output_formats)
      count       = local.rules.variant.count
      perVariant  = local.rules.variant.formats
    }
  }
}

module "cdn" {
  source = "./modules/cdn"
  count  = var.enable_cdn ? 1 : 0

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  # The origin access control and the cache and response-headers policies are global per
  # account: the region keeps a second stack with the same name_prefix elsewhere apart.
  name                        = "${var.name_prefix}-web-${var.region}"
  bucket_regional_domain_name = module.web_site.bucket_regional_domain_name
  content_security_policy     = local.content_security_policy
  # The processed images: the output bucket as a second origin, signed or public (docs/cdn.md).
  images                    = { bucket_regional_domain_name = module.storage.output_bucket_regional_domain_name }
  image_signing_public_keys = local.signed_images ? var.image_signing_public_keys : {}
  price_class               = var.cdn_price_class
  domain_name               = var.domain_name
  hosted_zone_id            = var.hosted_zone_id
  web_acl_arn               = try(module.waf_cdn[0].web_acl_arn, null)
  # The emulator's distribution "deploys" for ~30 s and serves nothing: do not wait for it.
  wait_for_deployment = !local.emulator
}

# Deletion reaches the edge (sign-in only: the only deletes are DELETE /uploads/{id} and the
# processor's erasure of late writes): docs/cdn.md.
module "edge_purge" {
  source = "./modules/edge_purge"
  count  = var.enable_cdn && local.signed_in ? 1 : 0

  name         = "${var.name_prefix}-edge-purge"
  role_name    = "${var.name_prefix}-edge-purge-${var.region}"
  package_path = "${local.artifacts_dir}/api.zip"
  # On the emulator CloudFront is the moto sidecar's.
  function_settings = merge(local.function_settings, {
    extra_environment_variables = merge(local.emulator_environment, var.emulator_sidecar_endpoint == null ? {} : {
      AWS_ENDPOINT_URL_CLOUDFRONT = var.emulator_sidecar_endpoint
    })
  })
  output_bucket    = local.buckets.output
  distribution_id  = module.cdn[0].distribution_id
  distribution_arn = module.cdn[0].distribution_arn
}

# Per-IP rate limits in front of the API stage (REGIONAL) and the distribution (CLOUDFRONT,
# which WAF only accepts in us-east-1).
module "waf_api" {
  source = "./modules/waf"
  count  = var.enable_waf ? 1 : 0

  name                     = "${var.name_prefix}-api"
  scope                    = "REGIONAL"
  rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
  associations             = { api_stage = local.api_stage_arn }
}

module "waf_cdn" {
  source = "./modules/waf"
  count  = var.enable_waf && var.enable_cdn ? 1 : 0

  providers = {
    aws = aws.us_east_1
  }

  name                     = "${var.name_prefix}-web-${var.region}" # CLOUDFRONT web ACLs are global per account
  scope                    = "CLOUDFRONT"
  rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
}
