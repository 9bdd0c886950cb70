output "bucket_id" {
  description = "Name of the web site bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the web site bucket."
  value       = local.bucket_arn
}

output "website_endpoint" {
  description = "Static website endpoint host (<bucket>.s3-website-<region>.amazonaws.com or the dot form, depending on the region)."
  value       = aws_s3_bucket_website_configuration.this.website_endpoint
}

output "website_origin" {
  description = "Origin of the page when served by the S3 website endpoint (http only; put CloudFront in front for https)."
  value       = "http://${aws_s3_bucket_website_configuration.this.website_endpoint}"
}

output "website_url" {
  description = "URL of the page's index document on the S3 website endpoint."
  value       = "http://${aws_s3_bucket_website_configuration.this.website_endpoint}/"
}

output "files" {
  description = "Keys of the uploaded page files (without config.json)."
  value       = sort(tolist(local.files))
}
