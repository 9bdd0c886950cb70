# Real AWS by default. The local emulator wraps this root with an override
# file that adds its endpoints and fake credentials; nothing emulator-specific
# belongs here.
provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}
