resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:no customer-managed KMS key by default; CloudWatch Logs encrypts at rest with its own keys
  #checkov:skip=CKV_AWS_338:retention is var.log_retention_days (default 14 days: logs name uploads); raise it where policy requires
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days

  tags = var.tags
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

  tags = var.tags
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

resource "aws_iam_role_policy" "this" {
  count = var.attach_policy_json ? 1 : 0

  name   = "function"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:async failures go to the processor's on-failure destination (SQS, modules/processor); the API is invoked synchronously
  #checkov:skip=CKV_AWS_117:no VPC by design (no NAT): the functions only call S3 and CloudWatch Logs over AWS endpoints
  #checkov:skip=CKV_AWS_272:no code signing: zips are built reproducibly by build.sh and deployed by the operator's Terraform identity
  #checkov:skip=CKV_AWS_173:the environment holds no secrets (bucket names, limits); Lambda encrypts it at rest with an AWS managed key
  #checkov:skip=CKV_AWS_50:X-Ray not used: the JSON logs carry request ids and per-stage timings
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  layers        = var.layers

  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  reserved_concurrent_executions = var.reserved_concurrent_executions

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [true] : []

    content {
      variables = var.environment_variables
    }
  }

  tags = var.tags

  # The log group must exist before the first invocation (else Lambda would try
  # to create it, which the role does not allow) and the permissions must be in
  # place before the function can be triggered.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
    aws_iam_role_policy.this,
  ]
}
