variable "name" {
  description = "Name of the web ACL and prefix of its metric names (1-128 letters, digits, '-' or '_'). CLOUDFRONT web ACLs are global per account (all live in us-east-1): include the stack's region when the same prefix is deployed to several regions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.name))
    error_message = "name must be 1-128 characters of letters, digits, '-' or '_'."
  }
}

variable "scope" {
  description = "Where the web ACL applies. Allowed: REGIONAL (API Gateway stages, in the provider's region), CLOUDFRONT (distributions; the provider passed in must be us-east-1)."
  type        = string

  validation {
    condition     = contains(["REGIONAL", "CLOUDFRONT"], var.scope)
    error_message = "scope must be one of: REGIONAL, CLOUDFRONT."
  }
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one client IP may make in any 5-minute window before it is blocked (10-2000000000)."
  type        = number
  default     = 500

  validation {
    condition     = var.rate_limit_per_5_minutes >= 10 && var.rate_limit_per_5_minutes <= 2000000000 && floor(var.rate_limit_per_5_minutes) == var.rate_limit_per_5_minutes
    error_message = "rate_limit_per_5_minutes must be an integer between 10 and 2000000000."
  }
}

variable "associations" {
  description = "Resources to attach the web ACL to, by a static key (e.g. { api = <API Gateway stage ARN> }); REGIONAL scope only (a distribution names its web ACL itself)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.associations) == 0 || var.scope == "REGIONAL"
    error_message = "associations are for REGIONAL web ACLs only: pass a CLOUDFRONT web ACL's ARN to the distribution (web_acl_id)."
  }
}

variable "tags" {
  description = "Extra tags for the web ACL."
  type        = map(string)
  default     = {}
}
