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

variable "events_endpoint_statements" {
  description = "Statements of an EventBridge interface endpoint's policy ({sid, actions, resources}: the stack's bus ARN): the functions publish outcome events with no route out. [] (default): no interface endpoint (it is billed per hour and availability zone, docs/events.md)."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default = []

  validation {
    condition = alltrue(flatten([
      for statement in var.events_endpoint_statements : [
        for resource in statement.resources : can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", resource))
      ]
    ]))
    error_message = "events_endpoint_statements resources must be event bus ARNs, never \"*\": the endpoint lets through only the stack's own bus."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
