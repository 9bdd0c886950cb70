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
  description = "Customer-managed KMS key for encryption at rest; null uses the AWS-managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags for the table."
  type        = map(string)
  default     = {}
}
