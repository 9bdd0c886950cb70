# What tells an operator that uploads are failing: alarms on the dead-letter queue, the
# processor's errors, throttles and duration, and the API's 5xx and 4xx counts; an optional
# SNS topic with an email subscription; a dashboard of the pipeline's key figures.

locals {
  topic_enabled = var.alarm_email != null
  actions       = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

  lambda_dimensions = { FunctionName = var.processor_function_name }
  api_dimensions    = { ApiName = var.api_name, Stage = var.api_stage_name }

  alarms = {
    dead-letters = {
      description = "S3 events the processor failed on after every retry are waiting in ${var.dead_letter_queue_name} (replay: tools/replay_dead_letters.py)"
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = var.dead_letter_queue_name }
      statistic   = "Maximum"
      threshold   = 0
      comparison  = "GreaterThanThreshold"
    }
    processor-errors = {
      description = "Processor invocations failed (not bad images: those end rejected without an error)"
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      threshold   = var.processor_errors_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
    processor-throttles = {
      description = "Processor invocations throttled (reserved concurrency or the account limit)"
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      threshold   = var.processor_throttles_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
    processor-duration = {
      description = "Processor duration reached ${floor(var.processor_duration_ratio * 100)} % of its ${var.processor_timeout_seconds} s timeout"
      namespace   = "AWS/Lambda"
      metric      = "Duration"
      dimensions  = local.lambda_dimensions
      statistic   = "Maximum"
      threshold   = floor(var.processor_timeout_seconds * 1000 * var.processor_duration_ratio)
      comparison  = "GreaterThanOrEqualToThreshold"
    }
    api-5xx = {
      description = "The API answered 5xx (function errors, integration failures)"
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      dimensions  = local.api_dimensions
      statistic   = "Sum"
      threshold   = var.api_5xx_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
    api-4xx-spike = {
      description = "The API answered at least ${var.api_4xx_threshold} 4xx in ${var.period_seconds} s (abuse, a broken client or throttling)"
      namespace   = "AWS/ApiGateway"
      metric      = "4XXError"
      dimensions  = local.api_dimensions
      statistic   = "Sum"
      threshold   = var.api_4xx_threshold
      comparison  = "GreaterThanOrEqualToThreshold"
    }
  }
}

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:alarm notifications carry no data, and CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key; pass a KMS key's topic through alarm_actions where required
  count = local.topic_enabled ? 1 : 0

  name = "${var.name}-alarms"

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = local.topic_enabled ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = "notBreaching"

  alarm_actions = local.actions
  ok_actions    = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.dashboard_enabled ? 1 : 0

  # Dashboards are global per account (one list for every region): the region keeps a stack
  # with the same name in another region from overwriting this one.
  dashboard_name = "${var.name}-${var.region}"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Uploads: presigned, processed, rejected"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/ApiGateway", "Count", "ApiName", var.api_name, "Stage", var.api_stage_name, { label = "API requests" }],
            [var.metrics_namespace, "ImagesProcessed", "Service", var.metrics_service, { label = "processed" }],
            [var.metrics_namespace, "ImagesRejected", "Service", var.metrics_service, { label = "rejected" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Rejected by code"
          region  = var.region
          stat    = "Sum"
          period  = 300
          metrics = [[{ expression = "SEARCH('{${var.metrics_namespace},Service,ErrorCode} Service=\"${var.metrics_service}\" MetricName=\"ImagesRejected\"', 'Sum', 300)", id = "codes", label = "" }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Latency (ms): processor stages p50 and the API"
          region = var.region
          stat   = "p50"
          period = 300
          metrics = concat(
            [for stage in ["Head", "Record", "Get", "Process", "Put", "Total"] : [var.metrics_namespace, "${stage}Ms", "Service", var.metrics_service]],
            [["AWS/ApiGateway", "Latency", "ApiName", var.api_name, "Stage", var.api_stage_name, { label = "API latency" }]],
          )
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Errors"
          region = var.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/Lambda", "Errors", "FunctionName", var.processor_function_name, { label = "processor errors" }],
            ["AWS/Lambda", "Throttles", "FunctionName", var.processor_function_name, { label = "processor throttles" }],
            ["AWS/ApiGateway", "5XXError", "ApiName", var.api_name, "Stage", var.api_stage_name, { label = "API 5xx" }],
            ["AWS/ApiGateway", "4XXError", "ApiName", var.api_name, "Stage", var.api_stage_name, { label = "API 4xx" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dead_letter_queue_name, { stat = "Maximum", label = "dead letters" }],
          ]
        }
      },
    ]
  })
}
