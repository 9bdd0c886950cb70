# One item per upload, keyed by its id; the owner index lists one owner's uploads newest first.
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:encrypted at rest always; a customer-managed key is used when kms_key_arn is set (AWS-owned otherwise, free)
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "owner"
    type = "S"
  }

  attribute {
    name = "createdAt"
    type = "S"
  }

  global_secondary_index {
    name            = var.owner_index_name
    hash_key        = "owner"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  # enabled = false is DynamoDB's default encryption with an AWS-owned key (free, no KMS
  # requests); true with kms_key_arn uses that customer-managed key. (true without a key would
  # select the AWS-managed aws/dynamodb key, billed per request: never used here.)
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
