# Inputs of the orders platform stack. Values for prod come from terraform.tfvars (not committed)
# or from the TF_VAR_* variables of the pipeline; the defaults below are for the dev workspace.

variable "environment" {
  type        = string
  description = "Deployment environment (dev, staging, prod)."
  default     = "dev"
}

variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "db_password" {
  type        = string
  sensitive   = true
  default     = "⟦generic-password⟧"
}

variable "db_admin_password" {
  description = "Master password of the RDS instance (min. 16 characters)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[^'\"@/ ]{16,}$", var.db_admin_password))
    error_message = "At least 16 characters, none of ' \" @ / or space (RDS rejects them)."
  }
}

variable "replica_db_password" {
  type      = string
  sensitive = true
  default   = "" # set TF_VAR_replica_db_password in the pipeline
}

variable "grafana_admin_pass" {
  type = string
  default = <<-EOT
    ⟦generic-password⟧
  EOT
}

variable "datadog_api_key" {
  type      = string
  sensitive = true
  default   = "⟦generic-secret⟧"
}

variable "datadog_site" {
  type    = string
  default = "datadoghq.eu"
}

variable "session_secret" {
  description = "HMAC key of the web sessions."
  type        = string
  sensitive   = true
  default     = "⟦generic-secret⟧"
}

variable "session_secret_rotation_days" {
  type    = number
  default = 90
}

variable "github_token" {
  type    = string
  default = "⟦github-pat⟧"
}

variable "pagerduty_token" {
  type      = string
  sensitive = true
  default   = ""
}

variable "opsgenie_api_key" {
  type      = string
  sensitive = true
  default   = null
}

variable "secret_name" {
  description = "Name of the Secrets Manager secret that holds the database credentials."
  type        = string
  default     = "orders/prod/db-credentials"
}

variable "db_password_secret_arn" {
  type    = string
  default = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-Vb3kQx"
}

variable "api_key_header" {
  type    = string
  default = "X-Api-Key"
}

variable "password_min_length" {
  type    = number
  default = 16
}

variable "token_ttl" {
  type    = string
  default = "3600s"
}

variable "image_digest" {
  type    = string
  default = "sha256:4d2a6b8e0c1f3a5b7d9e1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e"
}

variable "vpn_shared_secret" {
  type      = string
  sensitive = true

  default = "⟦generic-secret⟧"
}

variable "ldap_bind_password" {
  type      = string
  sensitive = true
  default   = "vault:secret/data/ldap#bind_password"
}

variable "smtp_password" {
  type = string
  default = "⟦generic-password⟧"
  sensitive = true
}

variable "smtp_host" {
  type    = string
  default = "email-smtp.eu-west-1.amazonaws.com"
}

variable "commit_sha" {
  type    = string
  default = "9fceb02d0ae598e95dc970b74767f19372d61af8"
}
