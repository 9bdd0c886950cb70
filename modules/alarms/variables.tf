variable "name" {
  description = "Prefix of the alarms' names (<name>-dead-letters, ...), the topic (<name>-alarms) and the dashboard's name (<name>-<region>: dashboards are global per account)."
  type        = string
}

variable "region" {
  description = "Region the dashboard's widgets read; also part of the dashboard's name."
  type        = string
}

variable "processor_function_name" {
  description = "Name of the processor function."
  type        = string
}

variable "processor_timeout_seconds" {
  description = "The processor's timeout (the duration alarm fires at processor_duration_ratio of it)."
  type        = number
}

variable "dead_letter_queue_name" {
  description = "Name of the processor's dead-letter queue."
  type        = string
}

variable "api_name" {
  description = "Name of the REST API (the ApiName dimension)."
  type        = string
}

variable "api_stage_name" {
  description = "Name of the API stage (the Stage dimension)."
  type        = string
}

variable "metrics_namespace" {
  description = "Namespace of the processor's own metrics (the dashboard reads them)."
  type        = string
}

variable "metrics_service" {
  description = "Service dimension of the processor's own metrics."
  type        = string
}

variable "period_seconds" {
  description = "Period of every alarm (one period breaching is an alarm); SQS publishes every 60 s, Lambda and API Gateway every 60 s."
  type        = number
  default     = 300

  validation {
    condition     = var.period_seconds >= 60 && var.period_seconds % 60 == 0
    error_message = "period_seconds must be a multiple of 60."
  }
}

variable "processor_errors_threshold" {
  description = "Failed processor invocations in one period that raise the alarm."
  type        = number
  default     = 1
}

variable "processor_throttles_threshold" {
  description = "Throttled processor invocations in one period that raise the alarm."
  type        = number
  default     = 1
}

variable "processor_duration_ratio" {
  description = "Fraction of the processor's timeout its longest invocation in a period may reach before the alarm (0-1)."
  type        = number
  default     = 0.8

  validation {
    condition     = var.processor_duration_ratio > 0 && var.processor_duration_ratio <= 1
    error_message = "processor_duration_ratio must be greater than 0 and at most 1."
  }
}

variable "api_5xx_threshold" {
  description = "API 5xx answers in one period that raise the alarm."
  type        = number
  default     = 1
}

variable "api_4xx_threshold" {
  description = "API 4xx answers in one period that raise the alarm (a spike)."
  type        = number
  default     = 50
}

variable "alarm_email" {
  description = "Email address subscribed to a new SNS topic that every alarm notifies (the address must confirm the subscription); null: no topic."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "More ARNs notified when an alarm fires and clears (an existing SNS topic, ...)."
  type        = list(string)
  default     = []
}

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard (named var.name)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for the alarms and the topic."
  type        = map(string)
  default     = {}
}
