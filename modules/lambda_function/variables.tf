variable "function_name" {
  description = "Name of the Lambda function (1-64 characters: letters, digits, '-' and '_'). Its log group is /aws/lambda/<function_name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "role_name" {
  description = "Name of the execution role (IAM names are global per account: include the region when deploying to several regions). null: the function name."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be null or 1-64 characters of letters, digits and '+=,.@_-'."
  }
}

variable "handler" {
  description = "Function entry point as <package>.<module>.<function>, e.g. \"api.handler.handler\"."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime. Allowed: python3.12, python3.13."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of: python3.12, python3.13."
  }
}

variable "memory_size" {
  description = "Memory in MB (128-10240)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 10
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; null (default) means unreserved (account pool)."
  type        = number
  default     = null
}

variable "package_path" {
  description = "Path to the deployment zip built by build.sh."
  type        = string
}

variable "layers" {
  description = "The function's own layer version ARNs, loaded after settings.shared_layer_arns (at most 5 in all)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) + length(var.settings.shared_layer_arns) <= 5
    error_message = "layers and settings.shared_layer_arns together must hold at most 5 layer ARNs."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function (besides LOG_LEVEL and settings.extra_environment_variables, which these override)."
  type        = map(string)
  default     = {}
}

variable "attach_policy_json" {
  description = "Attach policy_json as an inline policy of the role (a bool, so the decision is known at plan time even when the JSON is not)."
  type        = bool
  default     = false
}

variable "policy_json" {
  description = "IAM policy document (JSON) with the function's own permissions. Logging to its own log group is always granted."
  type        = string
  default     = null
}

variable "settings" {
  description = "Settings every function of the stack shares, built once in the root (main.tf local.function_settings): region (the network-interface permissions name it), architecture (x86_64 or arm64), log_level (the LOG_LEVEL environment variable: DEBUG, INFO, WARNING or ERROR), log_retention_days of the function's log group, tracing_enabled (X-Ray: tracing_config mode Active and the role may write segments; false: PassThrough), shared_layer_arns loaded before the function's own layers, vpc (subnet_ids to attach the function's network interfaces to and their security_group_ids; null: no VPC), extra_environment_variables (the local emulator's endpoint overrides; the function's own environment_variables win) and extra tags for the function, role and log group."
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

  validation {
    condition     = contains(["x86_64", "arm64"], var.settings.architecture)
    error_message = "settings.architecture must be one of: x86_64, arm64."
  }

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.settings.log_level)
    error_message = "settings.log_level must be one of: DEBUG, INFO, WARNING, ERROR."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.settings.log_retention_days)
    error_message = "settings.log_retention_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}
