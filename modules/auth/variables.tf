variable "name" {
  description = "Name of the user pool; the app client is <name>-page and the quota table <name>-quotas."
  type        = string
}

variable "self_sign_up" {
  description = "Let people create their own account (the email address is confirmed with a code); false: only operators create users."
  type        = bool
  default     = false
}

variable "password_minimum_length" {
  description = "Shortest accepted password (8-99); lower, upper case, digits and symbols are always required."
  type        = number
  default     = 12

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99 && floor(var.password_minimum_length) == var.password_minimum_length
    error_message = "password_minimum_length must be an integer between 8 and 99."
  }
}

variable "id_token_validity_minutes" {
  description = "Lifetime of ID and access tokens in minutes (5-1440); the page refreshes them before they expire."
  type        = number
  default     = 60

  validation {
    condition     = var.id_token_validity_minutes >= 5 && var.id_token_validity_minutes <= 1440 && floor(var.id_token_validity_minutes) == var.id_token_validity_minutes
    error_message = "id_token_validity_minutes must be an integer between 5 and 1440."
  }
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens in days (1-3650): how long a browser tab stays signed in."
  type        = number
  default     = 1

  validation {
    condition     = var.refresh_token_validity_days >= 1 && var.refresh_token_validity_days <= 3650 && floor(var.refresh_token_validity_days) == var.refresh_token_validity_days
    error_message = "refresh_token_validity_days must be an integer between 1 and 3650."
  }
}

variable "email_sender" {
  description = "Send the pool's emails through this verified SES identity (email_sending_account DEVELOPER): ses_identity_arn, from_address (an address of the identity, optionally \"Name <address>\"), optional reply_to and configuration_set. null: Cognito's built-in sender (about 50 emails a day)."
  type = object({
    ses_identity_arn  = string
    from_address      = string
    reply_to          = optional(string)
    configuration_set = optional(string)
  })
  default = null

  validation {
    condition     = var.email_sender == null || can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^\\s/]+$", var.email_sender.ses_identity_arn))
    error_message = "email_sender.ses_identity_arn must be an SES identity ARN: arn:aws:ses:<region>:<account>:identity/<domain or address>."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (and its users) until this is turned off."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN of the quota table; null (default): DynamoDB's AWS-owned key (free)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "tags" {
  description = "Extra tags for the pool and the quota table."
  type        = map(string)
  default     = {}
}
