output "region" {
  description = "AWS region the stack is deployed in (the region variable; AWS_REGION is not read). The operator tools in tools/ take their region from here."
  value       = var.region
}

output "web_url" {
  description = "URL of the upload page: https://<distribution or domain_name>/ with enable_cdn, the http:// S3 website endpoint without; with emulator_endpoint: <endpoint>/<web bucket>/index.html (see web_delivery)."
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
  description = "Name of the bucket holding the upload page (private behind CloudFront with enable_cdn; public-read without)."
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

output "web_delivery" {
  description = "How web_url is served: cloudfront (HTTPS, private bucket), s3-website (public bucket, plain HTTP) or emulator (path-style from the emulator's S3; a distribution, if enabled, exists on the sidecar but serves nothing)."
  value       = local.web_delivery
}

output "cdn_distribution_id" {
  description = "ID of the CloudFront distribution in front of the page; null without enable_cdn."
  value       = try(module.cdn[0].distribution_id, null)
}

output "cdn_domain_name" {
  description = "The distribution's own host name (<id>.cloudfront.net; the target of domain_name's alias records); null without enable_cdn."
  value       = try(module.cdn[0].distribution_domain_name, null)
}

output "web_acl_arns" {
  description = "ARNs of the WAF web ACLs by what they protect (api, cdn); empty without enable_waf."
  value = merge(
    var.enable_waf ? { api = module.waf_api[0].web_acl_arn } : {},
    var.enable_waf && var.enable_cdn ? { cdn = module.waf_cdn[0].web_acl_arn } : {},
  )
}

output "auth" {
  description = "Sign-in of the deployment: mode (\"none\" or \"cognito\") and, with cognito, user_pool_id, client_id, issuer, cognito_endpoint (where the page and tools/users.py reach Cognito: the moto sidecar on the emulator) and quota_table (null otherwise)."
  value = {
    mode             = var.auth
    user_pool_id     = try(module.auth[0].user_pool_id, null)
    client_id        = try(module.auth[0].client_id, null)
    issuer           = try(module.auth[0].issuer, null)
    cognito_endpoint = local.signed_in ? local.cognito_endpoint : null
    quota_table      = try(module.auth[0].quota_table_name, null)
  }
}

output "image_delivery" {
  description = "How the API hands out variant URLs (docs/cdn.md): mode (presigned, public or signed), ttl_seconds (null: permanent) and, when signed, signing_key_parameter, the SSM SecureString parameter the operator puts the private key in."
  value = {
    mode                  = local.delivery.mode
    ttl_seconds           = local.delivery.ttl_seconds
    signing_key_parameter = local.delivery.private_key_parameter
  }
}

output "events" {
  description = "Outcome events (enable_events): bus_name, bus_arn, source, event_pattern (matches every outcome of this stack), archive_arn, webhook_connection_name (set its secret once: docs/events.md), webhook_dead_letter_queue_url; null when off."
  value = var.enable_events ? {
    bus_name                      = module.events[0].bus_name
    bus_arn                       = module.events[0].bus_arn
    source                        = module.events[0].source_name
    event_pattern                 = module.events[0].outcome_event_pattern
    archive_arn                   = module.events[0].archive_arn
    webhook_connection_name       = module.events[0].webhook_connection_name
    webhook_dead_letter_queue_url = module.events[0].webhook_dead_letter_queue_url
  } : null
}
