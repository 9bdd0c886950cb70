terraform {
  required_version = ">= 1.9" # 1.9: validation conditions may read local.rules

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # What CI plans, applies and tests with (5.100.x, the offline mirror's version): 5.100 up to,
      # not including, 6.0. Every modules/*/versions.tf says the same (tests/terraform/test_versions.py).
      version = "~> 5.100"
    }
  }
}
