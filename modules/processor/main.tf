locals {
  upload_objects_arn = "${var.buckets.upload.arn}/${var.buckets.upload_prefix}*"
}

resource "aws_lambda_layer_version" "pillow" {
  layer_name               = "${var.name}-pillow"
  description              = "Pillow for python3.12 (${var.function_settings.architecture})"
  filename                 = var.layer_package_path
  source_code_hash         = filebase64sha256(var.layer_package_path)
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = [var.function_settings.architecture]
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true

  tags = var.function_settings.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadOriginals"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.upload_objects_arn]
  }

  # Without ListBucket, S3 answers 403 (not 404) for an original deleted before processing; the
  # processor would retry it into the dead-letter queue instead of skipping it.
  statement {
    sid       = "DistinguishMissingOriginals"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.buckets.upload.arn]
  }

  statement {
    sid       = "WriteVariantsAndManifests"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${var.buckets.output.arn}/*"]
  }

  # The upload record moves only through conditional updates (common/records.py); it is read
  # only when an original is missing (was the upload deleted after an attempt wrote outputs?).
  statement {
    sid       = "UpdateUploadRecords"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [var.uploads_table.arn]
  }

  # With deletes (sign-in): an upload deleted while an attempt worked, or PUT after its delete
  # with a URL granted before, is erased by the processor that finds the tombstone.
  dynamic "statement" {
    for_each = var.erase_deleted_uploads ? [true] : []

    content {
      sid       = "EraseDeletedUploads"
      effect    = "Allow"
      actions   = ["s3:DeleteObject"]
      resources = [local.upload_objects_arn, "${var.buckets.output.arn}/*"]
    }
  }

  # Outcome events (processed, rejected, failed), published by the function itself.
  dynamic "statement" {
    for_each = var.event_bus == null ? [] : [var.event_bus.arn]

    content {
      sid       = "PublishOutcomeEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [statement.value]
    }
  }

  # The on-failure destination is delivered with the function's own role.
  statement {
    sid       = "SendFailedEventsToDlq"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.buckets.kms_key_arn == null ? [] : [var.buckets.kms_key_arn]

    content {
      sid       = "UseBucketKmsKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "function" {
  source = "../lambda_function"

  handler = "processor.handler.handler"

  function_name                  = var.name
  role_name                      = var.role_name
  description                    = "Resizes uploaded images into variants"
  package_path                   = var.package_path
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  layers                         = [aws_lambda_layer_version.pillow.arn]
  settings                       = var.function_settings

  attach_policy_json = true
  policy_json        = data.aws_iam_policy_document.function.json

  environment_variables = merge({
    OUTPUT_BUCKET    = var.buckets.output.id
    UPLOAD_PREFIX    = var.buckets.upload_prefix
    MAX_UPLOAD_BYTES = tostring(var.max_upload_bytes)
    MAX_PIXELS       = tostring(var.max_pixels)
    ALLOWED_FORMATS  = join(",", var.allowed_formats)
    VARIANTS         = jsonencode(var.variants)

    UPLOADS_TABLE         = var.uploads_table.name
    PROCESSING_ATTEMPTS   = tostring(var.processing_attempts)
    RECORD_RETENTION_DAYS = var.uploads_table.record_retention_days == null ? "" : tostring(var.uploads_table.record_retention_days)

    METRICS_NAMESPACE = var.metrics_namespace == null ? "" : var.metrics_namespace
    METRICS_SERVICE   = var.metrics_service
    }, var.event_bus == null ? {} : {
    EVENT_BUS_NAME        = var.event_bus.name
    EVENT_SOURCE          = var.event_bus.source
    EVENT_URL_TTL_SECONDS = tostring(var.event_bus.url_ttl_seconds)
  })
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = module.function.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

resource "aws_lambda_permission" "s3" {
  statement_id  = "AllowInvokeFromUploadBucket"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "s3.amazonaws.com"
  source_arn    = var.buckets.upload.arn
  # Bucket ARNs carry no account: without this, a bucket of the same name in another account
  # (after this one is deleted) could invoke the function. The account is the function's own.
  source_account = split(":", module.function.function_arn)[4]
}

resource "aws_s3_bucket_notification" "this" {
  bucket = var.buckets.upload.id

  lambda_function {
    id                  = "process-originals"
    lambda_function_arn = module.function.function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.buckets.upload_prefix
  }

  # S3 test-invokes the target while saving the configuration.
  depends_on = [aws_lambda_permission.s3]
}
