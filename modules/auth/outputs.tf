output "user_pool_id" {
  description = "ID of the user pool (<region>_<id>)."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool (API Gateway's Cognito authorizer)."
  value       = aws_cognito_user_pool.this.arn
}

output "issuer" {
  description = "The iss claim of the pool's tokens: https://cognito-idp.<region>.amazonaws.com/<pool id>."
  value       = "https://${aws_cognito_user_pool.this.endpoint}"
}

output "client_id" {
  description = "ID of the page's public app client (the aud claim of ID tokens)."
  value       = aws_cognito_user_pool_client.page.id
}

output "quota_table_name" {
  description = "Name of the table of daily upload counters."
  value       = aws_dynamodb_table.quotas.name
}

output "quota_table_arn" {
  description = "ARN of the table of daily upload counters."
  value       = aws_dynamodb_table.quotas.arn
}
