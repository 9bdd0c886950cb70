output "function_name" {
  description = "Name of the processor function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the processor function."
  value       = module.function.function_arn
}

output "function_role_arn" {
  description = "ARN of the processor's execution role."
  value       = module.function.role_arn
}

output "function_log_group_name" {
  description = "Log group of the processor function."
  value       = module.function.log_group_name
}

output "layer_version_arn" {
  description = "ARN (with version) of the Pillow layer."
  value       = aws_lambda_layer_version.pillow.arn
}

output "dead_letter_queue_url" {
  description = "URL of the SQS queue receiving events that failed after all retries."
  value       = aws_sqs_queue.dlq.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue (the QueueName dimension of its metrics)."
  value       = aws_sqs_queue.dlq.name
}
