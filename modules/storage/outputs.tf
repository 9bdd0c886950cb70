output "upload_bucket_id" {
  description = "Name of the private upload bucket (originals land under upload_prefix)."
  value       = aws_s3_bucket.this["upload"].bucket
}

output "upload_bucket_arn" {
  description = "ARN of the upload bucket."
  value       = local.bucket_arns["upload"]
}

output "output_bucket_id" {
  description = "Name of the private output bucket (variants and manifests)."
  value       = aws_s3_bucket.this["output"].bucket
}

output "output_bucket_arn" {
  description = "ARN of the output bucket."
  value       = local.bucket_arns["output"]
}

output "upload_prefix" {
  description = "Key prefix for originals in the upload bucket (ends with '/')."
  value       = var.upload_prefix
}

output "upload_bucket_regional_domain_name" {
  description = "Regional domain name of the upload bucket (presigned URLs point here)."
  value       = aws_s3_bucket.this["upload"].bucket_regional_domain_name
}

output "output_bucket_regional_domain_name" {
  description = "Regional domain name of the output bucket (<bucket>.s3.<region>.amazonaws.com): the distribution's image origin."
  value       = aws_s3_bucket.this["output"].bucket_regional_domain_name
}
