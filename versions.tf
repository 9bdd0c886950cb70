terraform {
  required_version = ">= 1.9" # 1.9: validation conditions may read local.rules

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
