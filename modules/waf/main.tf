# One web ACL: allow by default, block a client IP that goes over the rate limit, so a single
# client cannot use up the shared throttle (API Gateway) or the cache's origin budget.
resource "aws_wafv2_web_acl" "this" {
  #checkov:skip=CKV2_AWS_31:WAF logging needs a Firehose or log bucket (cost); metrics and sampled requests are on
  #checkov:skip=CKV_AWS_192:no Java behind it (Python functions, static page): the log4j managed rules do not apply
  name        = var.name
  description = "Per-IP rate limit: ${var.rate_limit_per_5_minutes} requests per 5 minutes"
  scope       = var.scope

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 1

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.rate_limit_per_5_minutes
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "this" {
  for_each = var.associations

  web_acl_arn  = aws_wafv2_web_acl.this.arn
  resource_arn = each.value
}
