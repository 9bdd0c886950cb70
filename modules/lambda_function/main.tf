resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:no customer-managed KMS key by default; CloudWatch Logs encrypts at rest with its own keys
  #checkov:skip=CKV_AWS_338:retention is var.settings.log_retention_days (default 14 days: logs name uploads); raise it where policy requires
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.settings.log_retention_days

  tags = var.settings.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = coalesce(var.role_name, var.function_name)
  description        = "Execution role of Lambda function ${var.function_name}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json

  tags = var.settings.tags
}

# Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): write to
# this function's own log group only. The group is created by Terraform, so no
# logs:CreateLogGroup.
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

# Lambda creates and deletes the function's network interfaces with this role. Instead of
# AWSLambdaVPCAccessExecutionRole (the same actions on "*"): interfaces are created only in
# the function's own subnets with its own security groups, and managed only in this account
# and region. Describe* has no resource-level permissions, so it is "*".
locals {
  # The project's functions log at LOG_LEVEL (lambda_src/common/jsonlog.py).
  environment_variables = merge(
    var.settings.extra_environment_variables,
    { LOG_LEVEL = var.settings.log_level },
    var.environment_variables,
  )

  vpc_attached = var.settings.vpc != null
  # The role's account and partition (the role ARN is known before the function exists).
  arn_parts    = split(":", aws_iam_role.this.arn)
  ec2_arn_base = "arn:${local.arn_parts[1]}:ec2:${var.settings.region}:${local.arn_parts[4]}"
}

data "aws_iam_policy_document" "vpc" {
  count = local.vpc_attached ? 1 : 0

  statement {
    sid       = "DescribeNetworkInterfaces"
    effect    = "Allow"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid     = "CreateInterfacesInOwnSubnets"
    effect  = "Allow"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["${local.ec2_arn_base}:network-interface/*"],
      [for id in var.settings.vpc.subnet_ids : "${local.ec2_arn_base}:subnet/${id}"],
      [for id in var.settings.vpc.security_group_ids : "${local.ec2_arn_base}:security-group/${id}"],
    )
  }

  statement {
    sid = "ManageOwnInterfaces"
    actions = [
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    effect    = "Allow"
    resources = ["${local.ec2_arn_base}:network-interface/*"]
  }
}

resource "aws_iam_role_policy" "vpc" {
  count = local.vpc_attached ? 1 : 0

  name   = "vpc-network-interfaces"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.vpc[0].json
}

# Active tracing: Lambda sends the function's segments with the role's rights. X-Ray's write
# actions have no resource-level permissions.
data "aws_iam_policy_document" "tracing" {
  count = var.settings.tracing_enabled ? 1 : 0

  statement {
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "tracing" {
  count = var.settings.tracing_enabled ? 1 : 0

  name   = "xray"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.tracing[0].json
}

resource "aws_iam_role_policy" "this" {
  count = var.attach_policy_json ? 1 : 0

  name   = "function"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:async failures go to the processor's on-failure destination (SQS, modules/processor); the API is invoked synchronously
  #checkov:skip=CKV_AWS_117:a VPC is the enable_vpc option (off by default): without it the functions still call only S3 and DynamoDB over AWS endpoints
  #checkov:skip=CKV_AWS_272:no code signing: zips are built reproducibly by build.sh and deployed by the operator's Terraform identity
  #checkov:skip=CKV_AWS_173:the environment holds no secrets (bucket names, limits); Lambda encrypts it at rest with an AWS managed key
  #checkov:skip=CKV_AWS_50:active tracing is the enable_tracing option (off by default: billed per trace); the JSON logs carry request and trace ids
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = [var.settings.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  layers        = concat(var.settings.shared_layer_arns, var.layers)

  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  reserved_concurrent_executions = var.reserved_concurrent_executions

  dynamic "vpc_config" {
    for_each = local.vpc_attached ? [true] : []

    content {
      subnet_ids         = var.settings.vpc.subnet_ids
      security_group_ids = var.settings.vpc.security_group_ids
    }
  }

  tracing_config {
    mode = var.settings.tracing_enabled ? "Active" : "PassThrough"
  }

  dynamic "environment" {
    for_each = length(local.environment_variables) > 0 ? [true] : []

    content {
      variables = local.environment_variables
    }
  }

  tags = var.settings.tags

  # The log group must exist before the first invocation (else Lambda would try
  # to create it, which the role does not allow) and the permissions must be in
  # place before the function can be triggered.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
    aws_iam_role_policy.this,
    aws_iam_role_policy.vpc,
    aws_iam_role_policy.tracing,
  ]
}
