variable "name" {
  description = "Name of the layer."
  type        = string
}

variable "description" {
  description = "What the layer holds."
  type        = string
}

variable "package_path" {
  description = "Path to the layer's zip (python/ at its root), built by build.sh."
  type        = string
}

variable "compatible_runtimes" {
  description = "Runtimes the layer is built for."
  type        = list(string)
  default     = ["python3.12"]
}

variable "compatible_architectures" {
  description = "Instruction sets the layer runs on (a pure-Python layer runs on both)."
  type        = list(string)
  default     = ["x86_64", "arm64"]
}
