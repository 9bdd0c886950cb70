output "function_name" {
  description = "Name of the edge purge function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the edge purge function."
  value       = module.function.function_arn
}
