locals {
  upload_objects_arn = "${var.buckets.upload.arn}/${var.buckets.upload_prefix}*"

  # Method definitions, from the routes of the shared rule set (var.routes: rules.json): every
  # route is an AWS_PROXY integration to the one function, which answers CORS preflights
  # (OPTIONS) itself. Each path also gets OPTIONS and ANY: ANY catches every other method, so a
  # wrong method gets the function's 405 method_not_allowed (JSON error shape, CORS headers,
  # Allow header) instead of API Gateway's 403 "Missing Authentication Token".
  #
  # Routes with auth = "signed_in" (listing and deleting one's own uploads) exist only with
  # sign-in (var.auth set), and then every method but OPTIONS (the CORS preflight, which
  # browsers send without credentials) needs a valid ID token.
  signed_in = var.auth != null
  # Path template -> the API Gateway resource serving it (keys name the methods: post_uploads).
  path_resources = {
    "/uploads"               = "uploads"
    "/uploads/{id}"          = "upload"
    "/uploads/{id}/parts"    = "parts"
    "/uploads/{id}/complete" = "complete"
  }
  served_routes = [for route in var.routes : route if local.signed_in || route.auth == "any"]
  route_methods = {
    for route in local.served_routes :
    "${lower(route.method)}_${local.path_resources[route.path]}" => {
      resource    = local.path_resources[route.path]
      http_method = route.method
    }
  }
  path_methods = merge([
    for path in distinct([for route in local.served_routes : route.path]) : {
      for method in ["OPTIONS", "ANY"] :
      "${lower(method)}_${local.path_resources[path]}" => {
        resource    = local.path_resources[path]
        http_method = method
      }
    }
  ]...)
  methods = {
    for key, method in merge(local.route_methods, local.path_methods) :
    key => merge(method, {
      authorization = local.signed_in && method.http_method != "OPTIONS" ? "COGNITO_USER_POOLS" : "NONE"
    })
  }

  gateway_response_parameters = {
    "gatewayresponse.header.Access-Control-Allow-Origin" = "'${var.gateway_response_allow_origin}'"
    "gatewayresponse.header.Vary"                        = "'Origin'"
  }

  # Errors raised by API Gateway itself (throttling, missing route...) keep the
  # API's error shape {"error": code, "message": text}.
  gateway_response_templates = {
    "application/json" = "{\"error\":\"$context.error.responseType\",\"message\":$context.error.messageString}"
  }

  resource_ids = {
    uploads  = aws_api_gateway_resource.uploads.id
    upload   = aws_api_gateway_resource.upload.id
    parts    = aws_api_gateway_resource.upload_child["parts"].id
    complete = aws_api_gateway_resource.upload_child["complete"].id
  }
}

################################################################################
# Presign / status function
################################################################################

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "PresignPutOriginals"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = [local.upload_objects_arn]
  }

  # The deleted outcome event, published after the erasure (deleting exists with sign-in only).
  dynamic "statement" {
    for_each = var.event_bus == null || !local.signed_in ? [] : [var.event_bus.arn]

    content {
      sid       = "PublishOutcomeEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [statement.value]
    }
  }

  # Variants are delivered through presigned GETs, which carry this role's rights.
  # (Kept in every mode: GET /uploads/{id} can fall back to them, and a mode change needs no
  # role change. Behind the distribution nothing presigns them.)
  statement {
    sid       = "PresignGetVariants"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.buckets.output.arn}/*"]
  }

  # The upload record: created at presign time (conditional put), read for the status.
  statement {
    sid       = "CreateAndReadUploadRecords"
    effect    = "Allow"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem"]
    resources = [var.uploads_table.arn]
  }

  # Conditional updates of the record (common/records.py): a multipart upload's granted parts
  # and phase; with sign-in, the tombstone a delete leaves (the processor respects it, the
  # table's TTL removes it; no DeleteItem).
  statement {
    sid       = "UpdateUploadRecords"
    effect    = "Allow"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.uploads_table.arn]
  }

  # S3's part list is read for resume and completion, and a cancel aborts the upload.
  # (CreateMultipartUpload, UploadPart and CompleteMultipartUpload need s3:PutObject above.)
  statement {
    sid       = "ManageMultipartOriginals"
    effect    = "Allow"
    actions   = ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    resources = [local.upload_objects_arn]
  }

  # One owner's uploads, newest first.
  statement {
    sid       = "ListUploadsByOwner"
    effect    = "Allow"
    actions   = ["dynamodb:Query"]
    resources = [var.uploads_table.owner_index_arn]
  }

  # Signed image URLs: the CloudFront signing key, read once per container (docs/cdn.md).
  dynamic "statement" {
    for_each = var.delivery.mode == "signed" ? [var.delivery.private_key_parameter_arn] : []

    content {
      sid       = "ReadImageSigningKey"
      effect    = "Allow"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  # Right to erasure (sign-in only): DELETE /uploads/{id} removes the original, every object
  # under <id>/ in the output bucket (variants, manifest) and the record.
  dynamic "statement" {
    for_each = local.signed_in ? [true] : []

    content {
      sid       = "EraseOwnUploads"
      effect    = "Allow"
      actions   = ["s3:DeleteObject"]
      resources = [local.upload_objects_arn, "${var.buckets.output.arn}/*"]
    }
  }

  # Only to find one upload's outputs: the listed prefix must be "<uuid>/".
  dynamic "statement" {
    for_each = local.signed_in ? [true] : []

    content {
      sid       = "ListOneUploadsOutputs"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = [var.buckets.output.arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["????????-????-4???-????-????????????/"]
      }
    }
  }

  # The daily counters: one conditional ADD per upload.
  dynamic "statement" {
    for_each = local.signed_in ? [true] : []

    content {
      sid       = "CountDailyQuotas"
      effect    = "Allow"
      actions   = ["dynamodb:UpdateItem"]
      resources = [var.auth.quota_table_arn]
    }
  }

  # Each user's revocation time (item <sub>#revoked, written by tools/users.py): read with the
  # token check, cached per container (lambda_src/api/auth.py RevocationCache).
  dynamic "statement" {
    for_each = local.signed_in ? [true] : []

    content {
      sid       = "ReadRevocations"
      effect    = "Allow"
      actions   = ["dynamodb:GetItem"]
      resources = [var.auth.quota_table_arn]
    }
  }

  dynamic "statement" {
    for_each = var.buckets.kms_key_arn == null ? [] : [var.buckets.kms_key_arn]

    content {
      sid       = "UseBucketKmsKey"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "function" {
  source = "../lambda_function"

  handler = "api.handler.handler"

  function_name = var.name
  role_name     = var.role_name
  description   = "Presigns uploads and reports their processing status"
  package_path  = var.package_path
  memory_size   = var.memory_size
  timeout       = var.timeout
  settings      = var.function_settings

  attach_policy_json = true
  policy_json        = data.aws_iam_policy_document.function.json

  environment_variables = merge({
    UPLOAD_BUCKET         = var.buckets.upload.id
    OUTPUT_BUCKET         = var.buckets.output.id
    UPLOAD_PREFIX         = var.buckets.upload_prefix
    ALLOWED_CONTENT_TYPES = join(",", var.allowed_content_types)
    MAX_UPLOAD_BYTES      = tostring(var.max_upload_bytes)
    # Above it: S3 multipart, parts granted one URL at a time (lambda_src/api/multipart.py).
    MULTIPART_THRESHOLD_BYTES = tostring(var.multipart_threshold_bytes)
    UPLOAD_URL_TTL_SECONDS    = tostring(var.upload_url_ttl_seconds)
    DOWNLOAD_URL_TTL_SECONDS  = tostring(var.download_url_ttl_seconds)
    ALLOWED_ORIGINS           = join(",", var.allowed_origins)
    # When the status turns "failed" for an upload without a manifest (docs/architecture.md).
    PROCESSING_ATTEMPTS       = tostring(var.processing_attempts)
    PROCESSING_WINDOW_SECONDS = tostring(var.processing_window_seconds)
    UPLOADS_TABLE             = var.uploads_table.name
    RECORD_RETENTION_DAYS     = var.uploads_table.record_retention_days == null ? "" : tostring(var.uploads_table.record_retention_days)
    # Where variant URLs point (lambda_src/api/delivery.py).
    DELIVERY_MODE                  = var.delivery.mode
    DELIVERY_BASE_URL              = var.delivery.base_url == null ? "" : var.delivery.base_url
    DELIVERY_TTL_SECONDS           = var.delivery.ttl_seconds == null ? "" : tostring(var.delivery.ttl_seconds)
    DELIVERY_KEY_PAIR_ID           = var.delivery.key_pair_id == null ? "" : var.delivery.key_pair_id
    DELIVERY_PRIVATE_KEY_PARAMETER = var.delivery.private_key_parameter == null ? "" : var.delivery.private_key_parameter
    }, local.signed_in ? {
    # How the function checks ID tokens itself (lambda_src/api/auth.py) and counts quotas.
    AUTH_MODE             = "cognito"
    AUTH_ISSUER           = var.auth.issuer
    AUTH_CLIENT_ID        = var.auth.client_id
    AUTH_JWKS_URL         = var.auth.jwks_json == null ? coalesce(var.auth.jwks_url, "${var.auth.issuer}/.well-known/jwks.json") : ""
    AUTH_JWKS             = var.auth.jwks_json == null ? "" : var.auth.jwks_json
    QUOTA_TABLE           = var.auth.quota_table_name
    QUOTA_UPLOADS_PER_DAY = var.auth.uploads_per_day == null ? "" : tostring(var.auth.uploads_per_day)
    QUOTA_BYTES_PER_DAY   = var.auth.bytes_per_day == null ? "" : tostring(var.auth.bytes_per_day)
    } : {}, var.event_bus == null || !local.signed_in ? {} : {
    EVENT_BUS_NAME = var.event_bus.name
    EVENT_SOURCE   = var.event_bus.source
  })
}

################################################################################
# REST API
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  #checkov:skip=CKV_AWS_237:replacing the REST API changes its URL anyway; the deployment resource is create_before_destroy
  name        = var.name
  description = "Image pipeline: presigned uploads and status"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.function_settings.tags
}

resource "aws_api_gateway_resource" "uploads" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "uploads"
}

resource "aws_api_gateway_resource" "upload" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.uploads.id
  path_part   = "{id}"
}

# The multipart routes under one upload (lambda_src/api/multipart.py).
resource "aws_api_gateway_resource" "upload_child" {
  for_each = toset(["parts", "complete"])

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.upload.id
  path_part   = each.value
}

# ID tokens of the user pool (sign-in only). The function checks every token again itself.
resource "aws_api_gateway_authorizer" "cognito" {
  count = local.signed_in ? 1 : 0

  name            = "${var.name}-cognito"
  rest_api_id     = aws_api_gateway_rest_api.this.id
  type            = "COGNITO_USER_POOLS"
  provider_arns   = [var.auth.user_pool_arn]
  identity_source = "method.request.header.Authorization"
}

resource "aws_api_gateway_method" "this" {
  #checkov:skip=CKV_AWS_59:auth = "none" is an anonymous upload API by design (validated, size-limited, throttled, one presigned PUT per request); with "cognito" only the CORS preflights (OPTIONS) are anonymous, as browsers send them without credentials
  #checkov:skip=CKV2_AWS_53:the function validates every request itself and answers with the API's JSON error shape (tests/integration/test_api_abuse.py)
  for_each = local.methods

  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = local.resource_ids[each.value.resource]
  http_method   = each.value.http_method
  authorization = each.value.authorization
  authorizer_id = each.value.authorization == "COGNITO_USER_POOLS" ? aws_api_gateway_authorizer.cognito[0].id : null

  # null rather than {} when empty: the provider stores no parameters as null.
  # (The redeployment trigger hashes local.methods, not this read-back value.)
  request_parameters = each.value.resource == "uploads" ? null : { "method.request.path.id" = true }
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.methods

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_method.this[each.key].resource_id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.function.invoke_arn
}

# API Gateway's own errors (throttling 429, unknown route 403, integration
# failures 5XX) carry no CORS headers by default, so the page could not read
# them. The Lambda handles CORS for everything it answers.
resource "aws_api_gateway_gateway_response" "this" {
  for_each = toset(["DEFAULT_4XX", "DEFAULT_5XX"])

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.value

  response_parameters = local.gateway_response_parameters
  response_templates  = local.gateway_response_templates
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Managed by Terraform"

  # Hash the inputs (configuration values and stable ids), not attributes read
  # back from the API: those get normalised on refresh (null -> {}) and would
  # force a redeployment on every plan.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.uploads.id,
      aws_api_gateway_resource.upload.id,
      [for k in sort(keys(aws_api_gateway_resource.upload_child)) : aws_api_gateway_resource.upload_child[k].id],
      local.methods,
      aws_api_gateway_authorizer.cognito[*].id,
      [for k in sort(keys(local.methods)) : aws_api_gateway_method.this[k].id],
      [for k in sort(keys(local.methods)) : aws_api_gateway_integration.this[k].id],
      module.function.invoke_arn,
      local.gateway_response_parameters,
      local.gateway_response_templates,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_integration.this,
    aws_api_gateway_gateway_response.this,
  ]
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:no customer-managed KMS key by default; CloudWatch Logs encrypts at rest with its own keys
  count = var.access_log_enabled ? 1 : 0

  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.function_settings.log_retention_days

  tags = var.function_settings.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_73:X-Ray tracing is the enable_tracing option (off by default: billed per trace); the JSON logs carry request and trace ids
  #checkov:skip=CKV_AWS_120:answers are per request (fresh presigned URLs, live status): a cache would serve wrong answers
  #checkov:skip=CKV2_AWS_51:public browser API: browsers cannot present client certificates
  #checkov:skip=CKV2_AWS_29:no WAF by default (cost); stage throttling and strict validation bound abuse; attach a web ACL where required
  #checkov:skip=CKV2_AWS_4:execution logging needs the account-wide API Gateway CloudWatch role; the function logs every request
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  description   = "Image pipeline API"

  xray_tracing_enabled = var.function_settings.tracing_enabled

  dynamic "access_log_settings" {
    for_each = var.access_log_enabled ? [true] : []

    content {
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      format = jsonencode({
        requestId          = "$context.requestId"
        ip                 = "$context.identity.sourceIp"
        requestTime        = "$context.requestTime"
        httpMethod         = "$context.httpMethod"
        resourcePath       = "$context.resourcePath"
        status             = "$context.status"
        responseLength     = "$context.responseLength"
        integrationLatency = "$context.integrationLatency"
        errorMessage       = "$context.error.message"
      })
    }
  }

  tags = var.function_settings.tags
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225:answers are per request (fresh presigned URLs, live status): a cache would serve wrong answers
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
    metrics_enabled        = false
    logging_level          = "OFF"
  }
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage/method/path of this API only.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/*"
}
