terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
      # CloudFront accepts ACM certificates from us-east-1 only: the caller passes that region.
      configuration_aliases = [aws.us_east_1]
    }
  }
}
