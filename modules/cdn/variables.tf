variable "name" {
  description = "Name of the origin access control, the response headers policy and the cache policy (1-64 letters, digits, '-' or '_'); also the distribution's comment. All three are global per account: include the region when the same prefix is deployed to several regions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "bucket_regional_domain_name" {
  description = "Regional domain name of the private S3 bucket the distribution reads with origin access control (<bucket>.s3.<region>.amazonaws.com)."
  type        = string
}

variable "default_root_object" {
  description = "Object returned for the distribution's root URL (/)."
  type        = string
  default     = "index.html"
}

variable "no_cache_paths" {
  description = "Paths CloudFront never caches (managed CachingDisabled policy), so a deploy is seen at once: the page and its generated settings. Each starts with '/'."
  type        = list(string)
  default     = ["/index.html", "/config.json"]

  validation {
    condition     = alltrue([for p in var.no_cache_paths : startswith(p, "/")])
    error_message = "Each no_cache_paths entry must start with '/', e.g. \"/index.html\"."
  }
}

variable "default_ttl_seconds" {
  description = "Cache lifetime of other page files when the origin sends no Cache-Control (0-86400 seconds); a Cache-Control from the origin wins (minimum TTL 0)."
  type        = number
  default     = 300

  validation {
    condition     = var.default_ttl_seconds >= 0 && var.default_ttl_seconds <= 86400 && floor(var.default_ttl_seconds) == var.default_ttl_seconds
    error_message = "default_ttl_seconds must be an integer between 0 and 86400."
  }
}

variable "content_security_policy" {
  description = "Content-Security-Policy header value sent with every response (at most 1783 characters, CloudFront's limit)."
  type        = string

  validation {
    condition     = length(var.content_security_policy) > 0 && length(var.content_security_policy) <= 1783
    error_message = "content_security_policy must be 1-1783 characters."
  }
}

variable "hsts_max_age_seconds" {
  description = "max-age of Strict-Transport-Security in seconds (31536000 to 63072000; default two years)."
  type        = number
  default     = 63072000

  validation {
    condition     = var.hsts_max_age_seconds >= 31536000 && var.hsts_max_age_seconds <= 63072000 && floor(var.hsts_max_age_seconds) == var.hsts_max_age_seconds
    error_message = "hsts_max_age_seconds must be an integer between 31536000 (one year) and 63072000 (two years)."
  }
}

variable "referrer_policy" {
  description = "Referrer-Policy header. Allowed: no-referrer, same-origin, strict-origin, strict-origin-when-cross-origin."
  type        = string
  default     = "strict-origin-when-cross-origin"

  validation {
    condition     = contains(["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"], var.referrer_policy)
    error_message = "referrer_policy must be one of: no-referrer, same-origin, strict-origin, strict-origin-when-cross-origin."
  }
}

variable "price_class" {
  description = "CloudFront price class. Allowed: PriceClass_100 (North America and Europe), PriceClass_200, PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be one of: PriceClass_100, PriceClass_200, PriceClass_All."
  }
}

variable "domain_name" {
  description = "Optional custom domain of the page (e.g. images.example.com): an ACM certificate in us-east-1 validated by DNS in hosted_zone_id, the distribution alias and A/AAAA alias records. null (default): the distribution's own *.cloudfront.net name."
  type        = string
  default     = null
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone holding domain_name (its validation and alias records); required with domain_name."
  type        = string
  default     = null

  validation {
    condition     = (var.domain_name == null) == (var.hosted_zone_id == null)
    error_message = "domain_name and hosted_zone_id must be given together (or both left null)."
  }
}

variable "images" {
  description = "Processed images served from a second private S3 bucket (origin access control, like the page's): its regional domain name and the path pattern of its keys. null (default): the distribution serves the page only."
  type = object({
    bucket_regional_domain_name = string
    path_pattern                = optional(string, "/????????-????-4???-????-????????????/*")
  })
  default = null

  validation {
    condition     = var.images == null || try(startswith(var.images.path_pattern, "/") && length(var.images.path_pattern) <= 255, false)
    error_message = "images.path_pattern must start with '/' and be at most 255 characters."
  }
}

variable "image_signing_public_keys" {
  description = "PEM public keys (RSA 2048) whose signatures the image behaviour requires, by a short name: one, or two while rotating (docs/cdn.md). Empty (default): images are public to whoever holds the URL."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.image_signing_public_keys) <= 2 && alltrue([for name, pem in var.image_signing_public_keys : can(regex("^[A-Za-z0-9_-]{1,32}$", name)) && startswith(trimspace(pem), "-----BEGIN PUBLIC KEY-----")])
    error_message = "image_signing_public_keys holds at most two PEM public keys (\"-----BEGIN PUBLIC KEY-----\"), named by 1-32 letters, digits, '-' or '_'."
  }
}

variable "web_acl_arn" {
  description = "Optional ARN of a CLOUDFRONT-scope WAFv2 web ACL (created in us-east-1) attached to the distribution; null: none."
  type        = string
  default     = null
}

variable "wait_for_deployment" {
  description = "Wait until the distribution is deployed to every edge location (several minutes on AWS)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for the distribution and the certificate."
  type        = map(string)
  default     = {}
}
