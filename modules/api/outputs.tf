output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "execution_arn" {
  description = "Execution ARN of the REST API (for lambda permissions)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "Base URL of the stage on AWS (https://<id>.execute-api.<region>.amazonaws.com/<stage>), no trailing slash."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "function_name" {
  description = "Name of the presign/status function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the presign/status function."
  value       = module.function.function_arn
}

output "function_role_arn" {
  description = "ARN of the presign/status function's execution role."
  value       = module.function.role_arn
}

output "function_log_group_name" {
  description = "Log group of the presign/status function."
  value       = module.function.log_group_name
}

output "rest_api_name" {
  description = "Name of the REST API (the ApiName dimension of its metrics)."
  value       = aws_api_gateway_rest_api.this.name
}
