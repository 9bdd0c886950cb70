variable "name" {
  description = "Name of the VPC; its subnets, route table, endpoints and security group are named after it."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC (a private range, /16 to /24)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "region" {
  description = "Region of the VPC (the endpoints' service names are com.amazonaws.<region>.<service>)."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones of the private subnets, one subnet each (at least two: Lambda runs in every subnet it is given). [] (default): the first zone_count zones, by name, that the account lists as available (aws_availability_zones, plain availability zones only)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones))
    error_message = "availability_zones must be [] or list at least two distinct zones."
  }
}

variable "zone_count" {
  description = "With availability_zones = []: how many of the account's available zones get a subnet (2-6)."
  type        = number
  default     = 2

  validation {
    condition     = var.zone_count >= 2 && var.zone_count <= 6 && floor(var.zone_count) == var.zone_count
    error_message = "zone_count must be an integer between 2 and 6."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC's prefix for each subnet (cidrsubnet newbits): 8 gives /24 subnets of a /16."
  type        = number
  default     = 8
}

variable "s3_endpoint_statements" {
  description = "Statements of the S3 gateway endpoint's policy ({sid, actions, resources}): what traffic through the endpoint may do. Anything else is refused at the endpoint, whatever a role allows."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))

  validation {
    condition = alltrue(flatten([
      for statement in var.s3_endpoint_statements : [
        for resource in statement.resources : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", resource))
      ]
    ]))
    error_message = "s3_endpoint_statements resources must be named buckets' ARNs (or their objects, arn:...:s3:::bucket/*), never \"*\": the endpoint lets through only the stack's own buckets."
  }
}

variable "dynamodb_endpoint_statements" {
  description = "Statements of the DynamoDB gateway endpoint's policy ({sid, actions, resources}): table ARNs, or a table's indexes (<table ARN>/index/*)."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))

  validation {
    condition = alltrue(flatten([
      for statement in var.dynamodb_endpoint_statements : [
        for resource in statement.resources : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}(/index/([A-Za-z0-9_.-]{3,255}|[*]))?$", resource))
      ]
    ]))
    error_message = "dynamodb_endpoint_statements resources must be named tables' ARNs (or <table ARN>/index/*), never \"*\" or a wildcard table: the endpoint lets through only the stack's own tables."
  }
}

variable "interface_endpoints" {
  description = "Interface endpoints by a short name (\"events\", \"ssm\"): service (com.amazonaws.<region>.<service>), label (for descriptions, e.g. \"EventBridge\") and the policy's statements ({sid, actions, resources, principal_arns}): the only resources, and with principal_arns the only roles, traffic through the endpoint may reach. Each is placed in every private subnet with private DNS, behind its own security group that admits HTTPS from the functions only. {} (default): none (each is billed per hour and availability zone, docs/cost.md)."
  type = map(object({
    service = string
    label   = string
    statements = list(object({
      sid            = string
      actions        = list(string)
      resources      = list(string)
      principal_arns = optional(list(string), [])
    }))
  }))
  default = {}

  validation {
    condition     = alltrue([for name, endpoint in var.interface_endpoints : can(regex("^[a-z][a-z0-9-]{0,19}$", name)) && can(regex("^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*$", endpoint.service)) && length(endpoint.statements) > 0])
    error_message = "interface_endpoints: each name must be 1-20 lowercase letters, digits or '-', each service an AWS service name such as \"ssm\" or \"events\", with at least one policy statement."
  }

  # Resources are ARNs of the endpoint's own service with no wildcard in the resource part (the
  # account may be "*" where the caller cannot know it at plan time): never "*".
  validation {
    condition = alltrue(flatten([
      for endpoint in var.interface_endpoints : [
        for statement in endpoint.statements : concat(
          [length(statement.resources) > 0],
          [for resource in statement.resources : can(regex("^arn:aws[a-z-]*:${split(".", endpoint.service)[0]}:[a-z0-9-]+:([0-9]{12}|[*]):[^*]+$", resource))],
        )
      ]
    ]))
    error_message = "interface_endpoints statements' resources must be named ARNs of the endpoint's own service (an event bus, a parameter), never \"*\" or a wildcard resource: the endpoint lets through only the stack's own."
  }

  validation {
    condition = alltrue(flatten([
      for endpoint in var.interface_endpoints : [
        for statement in endpoint.statements : [
          for arn in statement.principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))
        ]
      ]
    ]))
    error_message = "interface_endpoints statements' principal_arns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
