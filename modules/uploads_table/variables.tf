variable "name" {
  description = "Name of the uploads table."
  type        = string
}

variable "owner_index_name" {
  description = "Name of the global secondary index on (owner, createdAt)."
  type        = string
  default     = "byOwner"
}

variable "point_in_time_recovery" {
  description = "Keep continuous backups for 35 days (billed per GB stored)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the table (also through terraform destroy) until this is turned off."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN for encryption at rest (its key policy must let DynamoDB use it for the account's principals); null (default): DynamoDB's AWS-owned key (free)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "tags" {
  description = "Extra tags for the table."
  type        = map(string)
  default     = {}
}
