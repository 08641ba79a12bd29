terraform {
  required_version = ">= 1.6"
  required_providers {
    cloudflare  = { source = "cloudflare/cloudflare", version = "~> 4.30" }
    grafana     = { source = "grafana/grafana", version = "~> 2.19" }
    onepassword = { source = "1Password/onepassword", version = "~> 2.0" }
    databricks  = { source = "databricks/databricks", version = "~> 1.44" }
    sentry      = { source = "jianyuan/sentry", version = "~> 0.12" }
  }
}

provider "cloudflare" {
  api_token            = var.cloudflare_api_token
  api_user_service_key = "⟦cloudflare-origin-ca-key⟧"
}

provider "grafana" {
  alias                     = "cloud"
  cloud_access_policy_token = "⟦grafana-cloud-token⟧"
}

provider "grafana" {
  alias = "stack"
  url   = "https://acme-prod.grafana.net"
  auth  = "⟦grafana-service-account-token⟧"
}

provider "grafana" {
  alias = "onprem"
  url   = "https://grafana.acme-corp.io"
  auth  = "⟦grafana-api-key⟧"
}

provider "onepassword" {
  service_account_token = "⟦onepassword-service-account-token⟧"
}

provider "databricks" {
  host  = "https://adb-4821937465012345.12.azuredatabricks.net"
  token = "⟦databricks-token⟧"
}

provider "databricks" {
  alias = "accounts"
  host  = "https://accounts.azuredatabricks.net"
  token = var.databricks_account_token
}

provider "sentry" {
  token    = "⟦sentry-token-org⟧"
  base_url = "https://sentry.io/api/"
}

# Origin certificate for the shop; the CSR lives in ./csr/shop.csr
resource "cloudflare_origin_ca_certificate" "shop" {
  csr                = file("${path.module}/csr/shop.csr")
  hostnames          = ["shop.acme-corp.io", "*.shop.acme-corp.io"]
  request_type       = "origin-rsa"
  requested_validity = 5475
}

output "origin_ca_docs" {
  value = "Origin CA keys look like v1.0-<24 hex>-<146 hex>; ours is in the vault (kv/cloudflare/origin-ca)."
}

locals {
  rejected_lookalike = "v1.0-a6ccaccdb251bce79793a67c-9e2ed829af48d9d59ce6ca6b0b9658d7dbc036095e68de96039211d9b963cc58ea44ecd5b868ec5ff527e03af2a080ad8541c11a795e1d763f588b265b2344421c5b75a1ad69534f0"
  api_version        = "v1.0-beta"
}
