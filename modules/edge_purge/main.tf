# Deletion reaches the edge: the output bucket's ObjectRemoved events invoke a small function
# that invalidates the upload's one wildcard path on the distribution (lambda_src/api/edge_purge.py).
# Outside any VPC on purpose: CloudFront's API has no VPC endpoint, and this function reads no
# data, so the API and the processor can stay in a VPC without NAT (docs/cdn.md).

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "InvalidateDeletedUploads"
    effect    = "Allow"
    actions   = ["cloudfront:CreateInvalidation"]
    resources = [var.distribution_arn]
  }
}

module "function" {
  source = "../lambda_function"

  function_name = var.name
  role_name     = var.role_name
  description   = "Invalidates a deleted upload's paths on the distribution"
  handler       = "api.edge_purge.handler"
  package_path  = var.package_path
  memory_size   = 128
  timeout       = 30
  settings      = merge(var.function_settings, { vpc = null })

  attach_policy_json = true
  policy_json        = data.aws_iam_policy_document.function.json

  environment_variables = {
    DISTRIBUTION_ID = var.distribution_id
  }
}

resource "aws_lambda_permission" "s3" {
  statement_id  = "AllowInvokeFromOutputBucket"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "s3.amazonaws.com"
  source_arn    = var.output_bucket.arn
  # Bucket ARNs carry no account: the function's own account is the bucket's.
  source_account = split(":", module.function.function_arn)[4]
}

resource "aws_s3_bucket_notification" "this" {
  bucket = var.output_bucket.id

  lambda_function {
    id                  = "purge-deleted-outputs"
    lambda_function_arn = module.function.function_arn
    events              = ["s3:ObjectRemoved:*"]
  }

  # S3 test-invokes the target while saving the configuration.
  depends_on = [aws_lambda_permission.s3]
}
