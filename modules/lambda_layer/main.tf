resource "aws_lambda_layer_version" "this" {
  layer_name               = var.name
  description              = var.description
  filename                 = var.package_path
  source_code_hash         = filebase64sha256(var.package_path)
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = [var.architecture] # compiled wheels: only what build.sh built for
}
