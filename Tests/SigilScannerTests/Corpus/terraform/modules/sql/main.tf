variable "name" { type = string }
variable "resource_group_name" { type = string }
variable "location" { type = string }
variable "admin_login" { type = string }

variable "admin_password" {
  type      = string
  sensitive = true
}

variable "allowed_ip_ranges" {
  type    = list(string)
  default = []
}

resource "azurerm_mssql_server" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  version                       = "12.0"
  administrator_login           = var.admin_login
  administrator_login_password  = var.admin_password
  minimum_tls_version           = "1.2"
  public_network_access_enabled = length(var.allowed_ip_ranges) > 0

  azuread_administrator {
    login_username = "sql-admins"
    object_id      = "74b6f874-addd-45ee-85b9-030d21a9b600"
  }
}

resource "azurerm_mssql_database" "reporting" {
  name      = "Reporting"
  server_id = azurerm_mssql_server.this.id
  sku_name  = "S2"
}

resource "azurerm_key_vault_secret" "connection_string" {
  name         = "reporting-sql-connection-string"
  key_vault_id = data.azurerm_key_vault.shared.id
  value        = "Server=tcp:${azurerm_mssql_server.this.fully_qualified_domain_name},1433;Database=Reporting;User ID=${var.admin_login};Password=${var.admin_password};Encrypt=True;"
}

data "azurerm_key_vault" "shared" {
  name                = "kv-shared-weu"
  resource_group_name = "rg-shared"
}

output "fqdn" {
  value = azurerm_mssql_server.this.fully_qualified_domain_name
}
