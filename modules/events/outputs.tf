output "bus_name" {
  description = "Name of the bus the functions publish to (EVENT_BUS_NAME)."
  value       = local.bus_name
}

output "bus_arn" {
  description = "ARN of the bus (the functions' events:PutEvents resource)."
  value       = local.bus_arn
}

output "source_name" {
  description = "The events' source (EVENT_SOURCE), what a rule matches on."
  value       = var.source_name
}

output "outcome_event_pattern" {
  description = "An event pattern (JSON) matching every outcome event of this stack, to start a rule from."
  value       = local.outcome_pattern
}

output "archive_arn" {
  description = "ARN of the archive (replay with `aws events start-replay`); null without one."
  value       = try(aws_cloudwatch_event_archive.this[0].arn, null)
}

output "webhook_connection_name" {
  description = "Name of the webhook's connection, whose secret header value the operator sets once (`aws events update-connection`); null without a webhook."
  value       = try(aws_cloudwatch_event_connection.webhook[0].name, null)
}

output "webhook_connection_secret_arn" {
  description = "ARN of the Secrets Manager secret EventBridge keeps the webhook's header in; null without a webhook."
  value       = try(aws_cloudwatch_event_connection.webhook[0].secret_arn, null)
}

output "webhook_dead_letter_queue_url" {
  description = "URL of the queue receiving webhook calls that failed for webhook_max_event_age_seconds; null without a webhook."
  value       = try(aws_sqs_queue.webhook_dlq[0].url, null)
}
