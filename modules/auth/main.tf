# Sign-in for the page (auth = "cognito"): a user pool whose user name is the email address,
# a public app client for the browser (no secret: a page cannot keep one), and the table of
# daily upload counters (quotas).

resource "aws_cognito_user_pool" "this" {
  name                     = var.name
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "OFF"

  username_configuration {
    case_sensitive = false
  }

  password_policy {
    minimum_length                   = var.password_minimum_length
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  # Self sign-up (optional) confirms the address with an emailed code; otherwise only an
  # operator creates users (tools/users.py create).
  admin_create_user_config {
    allow_admin_create_user_only = !var.self_sign_up
  }

  verification_message_template {
    default_email_option = "CONFIRM_WITH_CODE"
  }

  # A new email address (also the sign-in name) takes effect only once its code is confirmed;
  # until then the user keeps signing in with, and receiving mail at, the old verified one.
  user_attribute_update_settings {
    attributes_require_verification_before_update = ["email"]
  }

  # Cognito's built-in sender (about 50 emails a day per account) unless an SES identity is given.
  email_configuration {
    email_sending_account  = var.email_sender == null ? "COGNITO_DEFAULT" : "DEVELOPER"
    source_arn             = var.email_sender == null ? null : var.email_sender.ses_identity_arn
    from_email_address     = var.email_sender == null ? null : var.email_sender.from_address
    reply_to_email_address = var.email_sender == null ? null : var.email_sender.reply_to
    configuration_set      = var.email_sender == null ? null : var.email_sender.configuration_set
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  schema {
    name                     = "email"
    attribute_data_type      = "String"
    required                 = true
    mutable                  = true
    developer_only_attribute = false

    string_attribute_constraints {
      min_length = 3
      max_length = 254
    }
  }

  tags = var.tags
}

# The page's client: USER_PASSWORD_AUTH over HTTPS (the page has no SRP code) and refresh.
resource "aws_cognito_user_pool_client" "page" {
  name            = "${var.name}-page"
  user_pool_id    = aws_cognito_user_pool.this.id
  generate_secret = false

  explicit_auth_flows           = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  id_token_validity      = var.id_token_validity_minutes
  access_token_validity  = var.id_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days

  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }

  read_attributes  = ["email", "email_verified"]
  write_attributes = ["email"]
}

# One item per user and UTC day ("<sub>#<yyyy-mm-dd>"): uploads and declared bytes, counted
# by one conditional ADD per upload (atomic); DynamoDB's TTL removes old days.
resource "aws_dynamodb_table" "quotas" {
  #checkov:skip=CKV_AWS_119:encrypted at rest always; a customer-managed key is used when kms_key_arn is set (AWS-owned otherwise, free)
  #checkov:skip=CKV_AWS_28:day counters only live two days: a backup would restore stale counts
  name         = "${var.name}-quotas"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = false
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
