output "alarm_names" {
  description = "Names of the alarms by role (dead-letters, processor-errors, processor-throttles, processor-duration, api-5xx, api-4xx-spike)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "topic_arn" {
  description = "ARN of the alarms' SNS topic; null without alarm_email."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null when it is off."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
