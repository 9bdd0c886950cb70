output "name" {
  description = "Name of the uploads table."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the uploads table."
  value       = aws_dynamodb_table.this.arn
}

output "owner_index_arn" {
  description = "ARN of the owner index (for Query permissions)."
  value       = "${aws_dynamodb_table.this.arn}/index/${var.owner_index_name}"
}

output "owner_index_name" {
  description = "Name of the owner index."
  value       = var.owner_index_name
}
