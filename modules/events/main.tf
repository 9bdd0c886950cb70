# Where an upload's outcome events go: the stack's own bus (or a given one), an optional archive
# for replay, and an optional HTTPS webhook (API destination with a secret header). The
# functions publish with PutEvents themselves (docs/events.md: why not a DynamoDB stream and a
# pipe); this module only makes the bus and what leaves it.

data "aws_cloudwatch_event_bus" "existing" {
  count = var.existing_bus_name == null ? 0 : 1

  name = var.existing_bus_name
}

resource "aws_cloudwatch_event_bus" "this" {
  count = var.existing_bus_name == null ? 1 : 0

  name = var.name

  tags = var.tags
}

locals {
  bus_name = var.existing_bus_name == null ? aws_cloudwatch_event_bus.this[0].name : data.aws_cloudwatch_event_bus.existing[0].name
  bus_arn  = var.existing_bus_name == null ? aws_cloudwatch_event_bus.this[0].arn : data.aws_cloudwatch_event_bus.existing[0].arn
  webhook  = var.webhook_url != null
  # Only this stack's outcome events, also on a shared bus.
  outcome_pattern = jsonencode({
    source      = [var.source_name]
    detail-type = ["Upload Processed", "Upload Rejected", "Upload Failed", "Upload Deleted"]
  })
}

resource "aws_cloudwatch_event_archive" "this" {
  count = var.archive_retention_days == null ? 0 : 1

  name             = "${var.name}-outcomes"
  description      = "Outcome events of ${var.name}, for replay"
  event_source_arn = local.bus_arn
  event_pattern    = local.outcome_pattern
  retention_days   = var.archive_retention_days
}

# The webhook. The secret header's value is NOT an input: EventBridge keeps connection secrets in
# a Secrets Manager secret it owns (secret_arn), and an input would also sit in the Terraform
# state in plain text. The connection starts with a placeholder that the receiver must refuse;
# the operator sets the real value once (docs/events.md), and Terraform ignores it from then on.
resource "aws_cloudwatch_event_connection" "webhook" {
  count = local.webhook ? 1 : 0

  name               = "${var.name}-webhook"
  description        = "Secret header of ${var.name}'s outcome webhook (value set outside Terraform)"
  authorization_type = "API_KEY"

  auth_parameters {
    api_key {
      key   = var.webhook_secret_header_name
      value = "unset-run-aws-events-update-connection"
    }
  }

  lifecycle {
    ignore_changes = [auth_parameters[0].api_key[0].value]
  }
}

resource "aws_cloudwatch_event_api_destination" "webhook" {
  count = local.webhook ? 1 : 0

  name                             = "${var.name}-webhook"
  description                      = "Outcome events of ${var.name}, POSTed as JSON"
  invocation_endpoint              = var.webhook_url
  http_method                      = "POST"
  invocation_rate_limit_per_second = var.webhook_rate_per_second
  connection_arn                   = aws_cloudwatch_event_connection.webhook[0].arn
}

resource "aws_cloudwatch_event_rule" "webhook" {
  count = local.webhook ? 1 : 0

  name           = "${var.name}-webhook"
  description    = "Every outcome event of ${var.name} to the webhook"
  event_bus_name = local.bus_name
  event_pattern  = local.outcome_pattern

  tags = var.tags
}

# Calls that still fail after webhook_max_event_age_seconds land here instead of vanishing.
resource "aws_sqs_queue" "webhook_dlq" {
  count = local.webhook ? 1 : 0

  name                      = "${var.name}-webhook-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

data "aws_iam_policy_document" "webhook_dlq" {
  count = local.webhook ? 1 : 0

  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.webhook_dlq[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.webhook[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "webhook_dlq" {
  count = local.webhook ? 1 : 0

  queue_url = aws_sqs_queue.webhook_dlq[0].id
  policy    = data.aws_iam_policy_document.webhook_dlq[0].json
}

data "aws_iam_policy_document" "webhook_assume" {
  count = local.webhook ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "webhook" {
  count = local.webhook ? 1 : 0

  name               = "${var.name}-webhook"
  assume_role_policy = data.aws_iam_policy_document.webhook_assume[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "webhook" {
  count = local.webhook ? 1 : 0

  statement {
    sid       = "InvokeTheWebhook"
    actions   = ["events:InvokeApiDestination"]
    resources = [aws_cloudwatch_event_api_destination.webhook[0].arn]
  }
}

resource "aws_iam_role_policy" "webhook" {
  count = local.webhook ? 1 : 0

  name   = "invoke-webhook"
  role   = aws_iam_role.webhook[0].id
  policy = data.aws_iam_policy_document.webhook[0].json
}

resource "aws_cloudwatch_event_target" "webhook" {
  count = local.webhook ? 1 : 0

  rule           = aws_cloudwatch_event_rule.webhook[0].name
  event_bus_name = local.bus_name
  target_id      = "webhook"
  arn            = aws_cloudwatch_event_api_destination.webhook[0].arn
  role_arn       = aws_iam_role.webhook[0].arn

  retry_policy {
    maximum_event_age_in_seconds = var.webhook_max_event_age_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.webhook_dlq[0].arn
  }
}
