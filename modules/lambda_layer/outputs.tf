output "arn" {
  description = "ARN of the layer version (with its version number)."
  value       = aws_lambda_layer_version.this.arn
}

output "version" {
  description = "Version number of the layer."
  value       = aws_lambda_layer_version.this.version
}

output "architecture" {
  description = "The instruction set the layer was built for and declares."
  value       = var.architecture
}
