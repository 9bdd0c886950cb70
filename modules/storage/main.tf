locals {
  # Both buckets share every security setting; only CORS and lifecycle differ.
  buckets = {
    upload = "${var.name_prefix}-uploads"
    output = "${var.name_prefix}-output"
  }

  cors = {
    upload = {
      origins         = var.upload_cors_allowed_origins
      methods         = ["PUT"]
      allowed_headers = var.upload_cors_allowed_headers
    }
    output = {
      origins         = var.output_cors_allowed_origins
      methods         = ["GET"]
      allowed_headers = []
    }
  }

  sse_algorithm = var.kms_key_arn == null ? "AES256" : "aws:kms"

  # Minimum storage duration of each colder class that reads instantly (billed even if deleted
  # sooner): archiving originals that expire before it ends would cost more than it saves.
  minimum_storage_days = { GLACIER_IR = 90, STANDARD_IA = 30 }
  archive_originals = var.original_archive_days != null && (
    var.upload_retention_days == null ? true
    : var.upload_retention_days >= var.original_archive_days + local.minimum_storage_days[var.original_archive_storage_class]
  )

  # Built from the names (no API call): known at plan time whenever the names
  # are (bucket_name_suffix set), so policies can be reviewed in the plan.
  bucket_arns = { for k, b in aws_s3_bucket.this : k => "arn:${data.aws_partition.current.partition}:s3:::${b.bucket}" }
}

data "aws_partition" "current" {}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:no access-log bucket by default (cost); enable CloudTrail S3 data events where an audit trail is required
  #checkov:skip=CKV2_AWS_62:the upload bucket notifies the processor (modules/processor); the output bucket needs no notification
  #checkov:skip=CKV2_AWS_61:the upload bucket has a lifecycle configuration; expiry of outputs is optional (output_expiration_days)
  #checkov:skip=CKV_AWS_144:originals are transient and variants can be rebuilt from them: no cross-region replica
  #checkov:skip=CKV_AWS_21:no versioning: presigned PUTs cannot overwrite (If-None-Match) and outputs are reproducible
  for_each = local.buckets

  # S3 names are global: without a fixed suffix the provider generates a unique
  # name from the prefix (no random provider needed).
  bucket        = var.bucket_name_suffix == null ? null : "${each.value}-${var.bucket_name_suffix}"
  bucket_prefix = var.bucket_name_suffix == null ? "${each.value}-" : null
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Purpose = each.key })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = aws_s3_bucket.this

  # The output bucket behind CloudFront: only that distribution (the service principal with
  # aws:SourceArn, never "*") may read, through origin access control. Block Public Access
  # stays fully on: a service principal with a SourceArn condition is not "public".
  dynamic "statement" {
    for_each = each.key == "output" && var.output_cloudfront_reader != null ? [var.output_cloudfront_reader.distribution_arn] : []

    content {
      sid       = "CloudFrontReadsVariants"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${local.bucket_arns[each.key]}/*"]

      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [statement.value]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  # S3 rejects policy updates while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_cors_configuration" "this" {
  for_each = { for k, v in local.cors : k => v if length(v.origins) > 0 }

  bucket = aws_s3_bucket.this[each.key].bucket

  cors_rule {
    id              = "${each.key}-from-web-page"
    allowed_methods = each.value.methods
    allowed_origins = each.value.origins
    allowed_headers = each.value.allowed_headers
    expose_headers  = ["ETag"]
    max_age_seconds = var.cors_max_age_seconds
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "upload" {
  bucket = aws_s3_bucket.this["upload"].bucket

  # Originals are kept for reprocessing (docs/cost.md "Originals kept"): expired after
  # upload_retention_days (null: never; the rule stays, disabled), and moved to a colder class
  # that still reads instantly after original_archive_days (null: never), only when they live
  # longer than that class's minimum storage duration (else deleting early costs more).
  rule {
    id     = "expire-originals"
    status = var.upload_retention_days == null ? "Disabled" : "Enabled"

    filter {
      prefix = var.upload_prefix
    }

    expiration {
      days = coalesce(var.upload_retention_days, 36500)
    }
  }

  dynamic "rule" {
    for_each = local.archive_originals ? [true] : []

    content {
      id     = "archive-originals"
      status = "Enabled"

      filter {
        prefix = var.upload_prefix
      }

      transition {
        days          = var.original_archive_days
        storage_class = var.original_archive_storage_class
      }
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "output" {
  bucket = aws_s3_bucket.this["output"].bucket

  # With output_expiration_days = null the rule stays, disabled: objects are kept for ever.
  rule {
    id     = "expire-variants"
    status = var.output_expiration_days == null ? "Disabled" : "Enabled"

    filter {
      prefix = ""
    }

    expiration {
      days = coalesce(var.output_expiration_days, 36500)
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
