locals {
  default_content_types = {
    html        = "text/html; charset=utf-8"
    htm         = "text/html; charset=utf-8"
    js          = "text/javascript; charset=utf-8"
    mjs         = "text/javascript; charset=utf-8"
    css         = "text/css; charset=utf-8"
    json        = "application/json"
    map         = "application/json"
    svg         = "image/svg+xml"
    png         = "image/png"
    jpg         = "image/jpeg"
    jpeg        = "image/jpeg"
    gif         = "image/gif"
    webp        = "image/webp"
    ico         = "image/x-icon"
    webmanifest = "application/manifest+json"
    txt         = "text/plain; charset=utf-8"
    woff2       = "font/woff2"
  }
  content_types = merge(local.default_content_types, var.content_types)

  # Hidden files (any path segment starting with '.') are not published; a
  # local config.json would collide with the generated one.
  files = toset([
    for f in fileset(var.source_dir, "**") : f
    if f != "config.json" && length(regexall("(^|/)\\.", f)) == 0
  ])

  # Built from the name (no API call) so the policy is known at plan time when the name is.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${aws_s3_bucket.this.bucket}"

  # "cloudfront": private bucket read only by the distribution (origin access control);
  # "s3-website": the public S3 website endpoint (plain HTTP).
  public_website = var.delivery == "s3-website"
}

data "aws_partition" "current" {}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:static page files deployed by Terraform: no access-log bucket by default (cost)
  #checkov:skip=CKV2_AWS_62:static page files: nothing reacts to their changes
  #checkov:skip=CKV2_AWS_61:page files are managed by Terraform: nothing to expire
  #checkov:skip=CKV_AWS_144:page files are redeployed from git: no replica needed
  #checkov:skip=CKV_AWS_21:page files are redeployed from git: no versioning needed
  #checkov:skip=CKV_AWS_145:page files are public content; SSE-S3 keeps both delivery modes working without a key policy
  #checkov:skip=CKV2_AWS_6:it has one; all four flags are on unless delivery = s3-website (enable_cdn = false) opts into a public page
  bucket        = var.bucket_name_suffix == null ? null : "${var.name_prefix}-web-${var.bucket_name_suffix}"
  bucket_prefix = var.bucket_name_suffix == null ? "${var.name_prefix}-web-" : null
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Purpose = "web" })
}

# Behind CloudFront every flag is on. Only with delivery = "s3-website" is a public *policy*
# allowed (read of objects); ACLs stay blocked and disabled in both modes.
resource "aws_s3_bucket_public_access_block" "this" {
  #checkov:skip=CKV_AWS_54:on unless delivery = s3-website (enable_cdn = false), an opt-in public page; ACLs always blocked
  #checkov:skip=CKV_AWS_56:on unless delivery = s3-website (enable_cdn = false), an opt-in public page; ACLs always blocked
  bucket                  = aws_s3_bucket.this.bucket
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = !local.public_website
  restrict_public_buckets = !local.public_website
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Page files are single PUTs, but a failed multipart upload must never linger unbilled-for.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.bucket

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

# SSE-S3: anonymous website reads cannot use a KMS key, and OAC reads need no key policy.
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# delivery = "cloudfront": only this distribution may read (the service principal with
# aws:SourceArn, never "*"), and never over plain HTTP.
data "aws_iam_policy_document" "cloudfront_read" {
  count = local.public_website ? 0 : 1

  statement {
    sid       = "CloudFrontReadsPageFiles"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [var.cloudfront_distribution_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

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

# delivery = "s3-website": anyone may read the page files (the website endpoint is HTTP only).
data "aws_iam_policy_document" "public_read" {
  count = local.public_website ? 1 : 0

  statement {
    sid       = "PublicReadOfPageFiles"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.bucket
  policy = local.public_website ? data.aws_iam_policy_document.public_read[0].json : data.aws_iam_policy_document.cloudfront_read[0].json

  # A public policy is refused until block_public_policy is false.
  depends_on = [aws_s3_bucket_public_access_block.this]

  lifecycle {
    precondition {
      condition     = local.public_website || var.cloudfront_distribution_arn != null
      error_message = "delivery = \"cloudfront\" needs cloudfront_distribution_arn: the only reader the bucket policy allows."
    }
  }
}

resource "aws_s3_bucket_website_configuration" "this" {
  count = local.public_website ? 1 : 0

  bucket = aws_s3_bucket.this.bucket

  index_document {
    suffix = var.index_document
  }
}

resource "aws_s3_object" "files" {
  for_each = local.files

  bucket = aws_s3_bucket.this.bucket
  key    = each.value
  source = "${var.source_dir}/${each.value}"
  etag   = filemd5("${var.source_dir}/${each.value}")

  content_type  = lookup(local.content_types, lower(reverse(split(".", each.value))[0]), "application/octet-stream")
  cache_control = endswith(lower(each.value), ".html") ? "no-cache" : var.cache_control

  depends_on = [aws_s3_bucket_ownership_controls.this]
}

resource "aws_s3_object" "config" {
  bucket        = aws_s3_bucket.this.bucket
  key           = "config.json"
  content       = jsonencode(var.config)
  content_type  = "application/json"
  cache_control = "no-cache"

  depends_on = [aws_s3_bucket_ownership_controls.this]
}
