# Real AWS by default. The local emulator wraps this root with an override
# file that adds its endpoints and fake credentials; nothing emulator-specific
# belongs here.
provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

# CloudFront reads ACM certificates from us-east-1 only, and CLOUDFRONT-scope WAF web ACLs
# exist only there: the cdn and waf_cdn modules get this one.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = var.tags
  }
}
