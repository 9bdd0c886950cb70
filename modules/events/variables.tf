variable "name" {
  description = "Name of the stack's bus (\"<name>\"), and prefix of the archive, the webhook's connection, API destination, rule, role and dead-letter queue (1-56 characters: letters, digits, '.', '-' and '_')."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,56}$", var.name))
    error_message = "name must be 1-56 characters of letters, digits, '.', '-' or '_'."
  }
}

variable "existing_bus_name" {
  description = "Publish to this existing bus (in the stack's region and account) instead of creating one; null (default): the stack's own bus named var.name."
  type        = string
  default     = null

  validation {
    condition     = var.existing_bus_name == null || can(regex("^[A-Za-z0-9._/-]{1,256}$", var.existing_bus_name))
    error_message = "existing_bus_name must be null or an event bus name (letters, digits, '.', '-', '_', '/'; up to 256)."
  }
}

variable "source_name" {
  description = "The events' \"source\" (what rules match on), e.g. \"image-pipeline.sip\". Must not start with \"aws.\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.source_name)) && !startswith(var.source_name, "aws.")
    error_message = "source_name must be 1-256 letters, digits, '.', '-' or '_', and must not start with \"aws.\"."
  }
}

variable "archive_retention_days" {
  description = "Keep every event of the bus in an archive for replay this many days (0: for ever); null (default): no archive. Archived events are billed per GB stored."
  type        = number
  default     = null

  validation {
    condition     = var.archive_retention_days == null || try(var.archive_retention_days >= 0 && floor(var.archive_retention_days) == var.archive_retention_days, false)
    error_message = "archive_retention_days must be null or an integer >= 0 (0 keeps events for ever)."
  }
}

variable "webhook_url" {
  description = "HTTPS endpoint of an application outside AWS that receives every outcome event (an EventBridge API destination, POST, JSON body = the event); null (default): no webhook."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_url == null || can(regex("^https://[^/\\s]+(/\\S*)?$", var.webhook_url))
    error_message = "webhook_url must be null or an https:// URL."
  }
}

variable "webhook_secret_header_name" {
  description = "Name of the header carrying the webhook's shared secret (the receiver compares it). Its value is never a Terraform input: the connection is created with a placeholder and the value is set once with `aws events update-connection` (docs/events.md), so it never reaches the state."
  type        = string
  default     = "X-Pipeline-Secret"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,64}$", var.webhook_secret_header_name))
    error_message = "webhook_secret_header_name must be 1-64 letters, digits or '-'."
  }
}

variable "webhook_rate_per_second" {
  description = "Most webhook calls per second EventBridge makes (the API destination's limit), 1-300."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_rate_per_second >= 1 && var.webhook_rate_per_second <= 300 && floor(var.webhook_rate_per_second) == var.webhook_rate_per_second
    error_message = "webhook_rate_per_second must be an integer between 1 and 300."
  }
}

variable "webhook_max_event_age_seconds" {
  description = "How long EventBridge retries a webhook call that fails (60-86400 s) before the event goes to the webhook's dead-letter queue."
  type        = number
  default     = 86400

  validation {
    condition     = var.webhook_max_event_age_seconds >= 60 && var.webhook_max_event_age_seconds <= 86400 && floor(var.webhook_max_event_age_seconds) == var.webhook_max_event_age_seconds
    error_message = "webhook_max_event_age_seconds must be an integer between 60 and 86400."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the module."
  type        = map(string)
  default     = {}
}
