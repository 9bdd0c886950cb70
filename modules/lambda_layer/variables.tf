variable "name" {
  description = "Name of the layer."
  type        = string
}

variable "description" {
  description = "What the layer holds."
  type        = string
}

variable "package_path" {
  description = "Path to the layer's zip (python/ at its root), built by build.sh for var.architecture."
  type        = string

  validation {
    condition     = fileexists(var.package_path)
    error_message = "${var.package_path} does not exist: build it for ${var.architecture} with ./build.sh --arch ${var.architecture}."
  }
}

variable "compatible_runtimes" {
  description = "Runtimes the layer is built for."
  type        = list(string)
  default     = ["python3.12"]
}

variable "architecture" {
  description = "The one instruction set the zip was built for (build.sh --arch), declared as the layer's compatible architecture; the functions using it must run on it. Allowed: x86_64, arm64."
  type        = string

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be one of: x86_64, arm64."
  }
}
