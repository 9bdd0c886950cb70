variable "name" {
  description = "Name of the edge purge function (1-64 letters, digits, '-' or '_')."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "role_name" {
  description = "Name of its execution role (global per account: include the region)."
  type        = string
}

variable "package_path" {
  description = "Path to the API's deployment zip (build.sh: dist/api.zip), which holds api/edge_purge.py."
  type        = string
}

variable "function_settings" {
  description = "The stack's shared function settings (main.tf local.function_settings, described in modules/lambda_function); vpc is overridden to null: this function calls CloudFront's public API."
  type = object({
    region                      = string
    architecture                = optional(string, "x86_64")
    log_level                   = optional(string, "INFO")
    log_retention_days          = optional(number, 14)
    tracing_enabled             = optional(bool, false)
    shared_layer_arns           = optional(list(string), [])
    vpc                         = optional(object({ subnet_ids = list(string), security_group_ids = list(string) }))
    extra_environment_variables = optional(map(string), {})
    tags                        = optional(map(string), {})
  })
}

variable "output_bucket" {
  description = "The output bucket whose removed objects are purged from the edge: id (name) and arn."
  type = object({
    id  = string
    arn = string
  })
}

variable "distribution_id" {
  description = "ID of the distribution serving the output bucket (DISTRIBUTION_ID)."
  type        = string
}

variable "distribution_arn" {
  description = "ARN of that distribution: the only resource the function may invalidate."
  type        = string
}
