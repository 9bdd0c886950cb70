output "distribution_id" {
  description = "ID of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "ARN of the distribution (the aws:SourceArn the bucket policy allows)."
  value       = aws_cloudfront_distribution.this.arn
}

output "distribution_domain_name" {
  description = "The distribution's own host name (<id>.cloudfront.net)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "origin" {
  description = "Browser origin of the page: https://<domain_name>, or https://<id>.cloudfront.net without a custom domain."
  value       = "https://${local.custom_domain ? var.domain_name : aws_cloudfront_distribution.this.domain_name}"
}

output "url" {
  description = "URL of the page (origin + \"/\")."
  value       = "https://${local.custom_domain ? var.domain_name : aws_cloudfront_distribution.this.domain_name}/"
}

output "origin_access_control_id" {
  description = "ID of the origin access control the distribution signs its S3 reads with."
  value       = aws_cloudfront_origin_access_control.this.id
}

output "response_headers_policy_id" {
  description = "ID of the security response headers policy (HSTS, CSP, nosniff, DENY, referrer policy)."
  value       = aws_cloudfront_response_headers_policy.this.id
}

output "cache_policy_id" {
  description = "ID of the cache policy of page files other than no_cache_paths."
  value       = aws_cloudfront_cache_policy.this.id
}

output "certificate_arn" {
  description = "ARN of the validated ACM certificate of domain_name (us-east-1); null without a custom domain."
  value       = try(aws_acm_certificate_validation.this[0].certificate_arn, null)
}

output "image_cache_policy_id" {
  description = "ID of the processed images' cache policy (origin Cache-Control, no query string in the key); null without images."
  value       = try(aws_cloudfront_cache_policy.images[0].id, null)
}

output "image_key_group_id" {
  description = "ID of the trusted key group of the image behaviour; null when images are public (or not served)."
  value       = try(aws_cloudfront_key_group.images[0].id, null)
}

output "image_public_key_ids" {
  description = "CloudFront ids (the signed URLs' Key-Pair-Id) of the image signing public keys, by name."
  value       = { for name, key in aws_cloudfront_public_key.images : name => key.id }
}
