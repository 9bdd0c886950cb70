output "bucket_id" {
  description = "Name of the web site bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the web site bucket."
  value       = local.bucket_arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket (<bucket>.s3.<region>.amazonaws.com): the CloudFront origin."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "website_endpoint" {
  description = "Static website endpoint host (<bucket>.s3-website-<region>.amazonaws.com or the dot form, depending on the region); null with delivery = \"cloudfront\"."
  value       = try(aws_s3_bucket_website_configuration.this[0].website_endpoint, null)
}

output "website_origin" {
  description = "Origin of the page on the S3 website endpoint (http only); null with delivery = \"cloudfront\"."
  value       = try("http://${aws_s3_bucket_website_configuration.this[0].website_endpoint}", null)
}

output "website_url" {
  description = "URL of the page's index document on the S3 website endpoint; null with delivery = \"cloudfront\"."
  value       = try("http://${aws_s3_bucket_website_configuration.this[0].website_endpoint}/", null)
}

output "files" {
  description = "Keys of the uploaded page files (without config.json)."
  value       = sort(tolist(local.files))
}
