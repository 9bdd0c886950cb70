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

variable "architecture" {
  description = "Instruction set of the function. Allowed: x86_64, arm64."
  type        = string
  default     = "x86_64"
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
  description = "Layer version ARNs (at most 5)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "layers must contain at most 5 layer ARNs."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the function's log group. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 14
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

variable "tags" {
  description = "Extra tags for the function, role and log group."
  type        = map(string)
  default     = {}
}

variable "region" {
  description = "Region of the function (the network-interface permissions name it)."
  type        = string
}

variable "vpc_subnet_ids" {
  description = "Subnets to attach the function to (its network interfaces); null (default): no VPC."
  type        = list(string)
  default     = null
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function's network interfaces (with vpc_subnet_ids)."
  type        = list(string)
  default     = []
}

variable "tracing_enabled" {
  description = "X-Ray active tracing (tracing_config mode Active, and the role may write segments); false: PassThrough."
  type        = bool
  default     = false
}
