locals {
  origin_id     = "web"
  custom_domain = var.domain_name != null

  # AWS managed cache policy (by id: plans need no API call). CachingDisabled: TTL 0, every
  # request goes to the origin.
  caching_disabled_policy_id = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

  # The processed images (var.images): a second S3 origin, the output bucket, read with the
  # same origin access control; "signed" when the behaviour trusts a key group.
  image_origin_id = "images"
  serve_images    = var.images != null
  signed_images   = local.serve_images && length(var.image_signing_public_keys) > 0
}

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = var.name
  description                       = "Signed (SigV4) reads of the private page bucket by ${var.name}"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Page files other than no_cache_paths: the origin's Cache-Control wins (minimum TTL 0, so
# index.html's "no-cache" is honoured for "/"), default_ttl_seconds when it sends none.
resource "aws_cloudfront_cache_policy" "this" {
  name        = var.name
  comment     = "Page files: the origin's Cache-Control, ${var.default_ttl_seconds} s without one"
  min_ttl     = 0
  default_ttl = var.default_ttl_seconds
  max_ttl     = 86400

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Processed images: keys never change meaning, so the origin's Cache-Control (the processor
# writes "public, max-age=31536000, immutable") is honoured up to a year; without one, a day.
# No query string, cookie or header is in the cache key or forwarded: a signed URL's
# Expires/Signature/Key-Pair-Id are checked at the edge and then ignored, so every viewer's
# signature hits the same cached object.
resource "aws_cloudfront_cache_policy" "images" {
  count = local.serve_images ? 1 : 0

  name        = "${var.name}-images"
  comment     = "Processed images: the origin's Cache-Control (immutable keys), no query string in the key"
  min_ttl     = 0
  default_ttl = 86400
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Signed images: the public halves of the API's signing keys (one, or two while rotating:
# docs/cdn.md). The private keys never pass through Terraform.
resource "aws_cloudfront_public_key" "images" {
  for_each = local.serve_images ? var.image_signing_public_keys : {}

  name        = "${var.name}-${each.key}"
  comment     = "Signs image URLs of ${var.name} (key ${each.key})"
  encoded_key = each.value
}

resource "aws_cloudfront_key_group" "images" {
  count = local.signed_images ? 1 : 0

  name    = "${var.name}-images"
  comment = "Keys whose signatures the image behaviour of ${var.name} accepts"
  items   = [for name in sort(keys(aws_cloudfront_public_key.images)) : aws_cloudfront_public_key.images[name].id]
}

resource "aws_cloudfront_response_headers_policy" "this" {
  #checkov:skip=CKV_AWS_259:HSTS is 2 years with includeSubDomains; preload binds the whole registrable domain, the owner's call
  name    = var.name
  comment = "Security headers of the upload page"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = var.hsts_max_age_seconds
      include_subdomains         = true
      preload                    = false
      override                   = true
    }

    content_security_policy {
      content_security_policy = var.content_security_policy
      override                = true
    }

    content_type_options {
      override = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }

    referrer_policy {
      referrer_policy = var.referrer_policy
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:no access-log bucket by default (cost); the page is static and its API has its own logs
  #checkov:skip=CKV_AWS_310:S3 origins only (page, images): S3 is regional and multi-AZ, a failover origin would need a replica bucket
  #checkov:skip=CKV_AWS_374:the page is meant for everyone: no geographic restriction
  #checkov:skip=CKV2_AWS_47:the web ACL is optional (enable_waf) and there is no Java behind it: log4j rules do not apply
  #checkov:skip=CKV_AWS_68:the web ACL is optional (enable_waf, off by default for cost); the page is static files
  #checkov:skip=CKV2_AWS_42:a custom certificate needs a custom domain (domain_name); without one the cloudfront.net certificate is used
  #checkov:skip=CKV_AWS_174:TLSv1.2_2021 is set with a custom domain; CloudFront's default certificate always answers TLSv1
  enabled             = true
  comment             = var.name
  default_root_object = var.default_root_object
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.price_class
  aliases             = local.custom_domain ? [var.domain_name] : []
  web_acl_id          = var.web_acl_arn
  wait_for_deployment = var.wait_for_deployment

  origin {
    origin_id                = local.origin_id
    domain_name              = var.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  dynamic "origin" {
    for_each = local.serve_images ? [var.images] : []

    content {
      origin_id                = local.image_origin_id
      domain_name              = origin.value.bucket_regional_domain_name
      origin_access_control_id = aws_cloudfront_origin_access_control.this.id
    }
  }

  default_cache_behavior {
    target_origin_id           = local.origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.this.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  # Processed images first: their keys are "<upload id>/...", a path no page file has.
  dynamic "ordered_cache_behavior" {
    for_each = local.serve_images ? [var.images.path_pattern] : []

    content {
      path_pattern               = ordered_cache_behavior.value
      target_origin_id           = local.image_origin_id
      viewer_protocol_policy     = "redirect-to-https"
      allowed_methods            = ["GET", "HEAD"]
      cached_methods             = ["GET", "HEAD"]
      compress                   = false # AVIF, WebP and JPEG are compressed already
      cache_policy_id            = aws_cloudfront_cache_policy.images[0].id
      response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
      trusted_key_groups         = local.signed_images ? [aws_cloudfront_key_group.images[0].id] : null
    }
  }

  dynamic "ordered_cache_behavior" {
    for_each = var.no_cache_paths

    content {
      path_pattern               = ordered_cache_behavior.value
      target_origin_id           = local.origin_id
      viewer_protocol_policy     = "redirect-to-https"
      allowed_methods            = ["GET", "HEAD"]
      cached_methods             = ["GET", "HEAD"]
      compress                   = true
      cache_policy_id            = local.caching_disabled_policy_id
      response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = !local.custom_domain
    acm_certificate_arn            = local.custom_domain ? aws_acm_certificate_validation.this[0].certificate_arn : null
    ssl_support_method             = local.custom_domain ? "sni-only" : null
    minimum_protocol_version       = local.custom_domain ? "TLSv1.2_2021" : "TLSv1"
  }

  tags = var.tags
}
