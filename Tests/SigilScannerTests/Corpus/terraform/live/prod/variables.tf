variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "aws_access_key_id" {
  type      = string
  sensitive = true
}

variable "aws_secret_access_key" {
  type      = string
  sensitive = true
}

variable "azure_subscription_id" {
  type = string
}

variable "azure_client_secret" {
  type        = string
  sensitive   = true
  description = "Client secret of the terraform-prod app registration."
}

variable "digitalocean_token" {
  type      = string
  sensitive = true
  default   = ""
}

variable "db_password" {
  type        = string
  sensitive   = true
  description = "Master password for the orders RDS instance (min. 16 characters)."

  validation {
    condition     = length(var.db_password) >= 16
    error_message = "The db_password must be at least 16 characters long."
  }
}

variable "datadog_api_key" {
  type      = string
  sensitive = true
}

variable "grafana_admin_password" {
  type      = string
  sensitive = true
  default   = "⟦generic-password⟧"
}
