output "web_url" {
  description = "URL of the upload page (S3 website endpoint; with emulator_endpoint: <endpoint>/<web bucket>/index.html)."
  value       = local.web_url
}

output "api_url" {
  description = "Base URL of the API stage, no trailing slash (POST <api_url>/uploads, GET <api_url>/uploads/{id}); with emulator_endpoint: <endpoint>/_aws/execute-api/<api id>/<stage>."
  value       = local.api_url
}

output "upload_bucket" {
  description = "Name of the private bucket receiving originals under uploads/."
  value       = module.storage.upload_bucket_id
}

output "output_bucket" {
  description = "Name of the private bucket holding variants and manifests (<id>/...)."
  value       = module.storage.output_bucket_id
}

output "web_bucket" {
  description = "Name of the public bucket serving the upload page."
  value       = module.web_site.bucket_id
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue receiving S3 events the processor failed on after all retries."
  value       = module.processor.dead_letter_queue_url
}

output "processor_function_name" {
  description = "Name of the processor Lambda function."
  value       = module.processor.function_name
}

output "api_function_name" {
  description = "Name of the presign/status Lambda function."
  value       = module.api.function_name
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = module.api.rest_api_id
}

output "allowed_origins" {
  description = "Browser origins allowed by CORS (the page's own origin first)."
  value       = local.allowed_origins
}

output "uploads_table" {
  description = "Name of the DynamoDB table with one record per upload (tools/uploads.py lists it)."
  value       = module.uploads_table.name
}

output "emulator_dynamodb_endpoint" {
  description = "EMULATOR ONLY: where the uploads table is served locally (the moto sidecar); null on AWS."
  value       = var.emulator_sidecar_endpoint
}

output "vpc_id" {
  description = "ID of the VPC the stack created for enable_vpc; null without enable_vpc or with an existing VPC's subnets."
  value       = try(module.network[0].vpc_id, null)
}

output "function_subnet_ids" {
  description = "Subnets both functions are attached to; null without enable_vpc."
  value       = local.function_vpc_subnet_ids
}

output "function_security_group_ids" {
  description = "Security groups of both functions' network interfaces; [] without enable_vpc."
  value       = local.function_vpc_security_group_ids
}

output "vpc_gateway_endpoint_ids" {
  description = "IDs of the S3 and DynamoDB gateway endpoints of the stack's VPC by service; null when it created none."
  value       = try(module.network[0].gateway_endpoint_ids, null)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms by role (dead-letters, processor-errors, ...); null without enable_alarms."
  value       = try(module.alarms[0].alarm_names, null)
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic alarm_email is subscribed to; null without it."
  value       = try(module.alarms[0].topic_arn, null)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null without enable_alarms."
  value       = try(module.alarms[0].dashboard_name, null)
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the processor's own metrics (dimension Service = name_prefix); null without enable_alarms."
  value       = var.enable_alarms ? var.metrics_namespace : null
}
