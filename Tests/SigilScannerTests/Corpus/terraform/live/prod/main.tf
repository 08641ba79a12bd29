terraform {
  required_version = ">= 1.6.0"

  cloud {
    organization = "acme-corp"
    workspaces {
      name = "orders-prod"
    }
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.48"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 3.103"
    }
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "~> 2.38"
    }
  }
}

provider "aws" {
  region     = var.aws_region
  access_key = var.aws_access_key_id
  secret_key = var.aws_secret_access_key
}

provider "azurerm" {
  features {}
  subscription_id = var.azure_subscription_id
  client_id       = "3b77ab62-dd37-43ba-8da5-d38c5cdd0220"
  tenant_id       = "82c523f3-e5ae-4c56-a590-02849aa5b62d"
  client_secret   = var.azure_client_secret
}

provider "digitalocean" {
  token = var.digitalocean_token
}

resource "aws_db_instance" "orders" {
  identifier              = "orders-prod"
  engine                  = "postgres"
  engine_version          = "16.2"
  instance_class          = "db.r6g.large"
  allocated_storage       = 200
  db_name                 = "orders"
  username                = "orders_admin"
  password                = var.db_password
  backup_retention_period = 14
  deletion_protection     = true
  storage_encrypted       = true
  skip_final_snapshot     = false
}

module "reporting_sql" {
  source = "../../modules/sql"

  name                = "sql-reporting-prod"
  resource_group_name = "rg-orders-prod"
  location            = "westeurope"
  admin_login         = "sqladmin"
  admin_password      = "⟦generic-password⟧"
}

resource "digitalocean_spaces_bucket" "www_apac" {
  name   = "acme-www-apac"
  region = "sgp1"
  acl    = "public-read"
}

resource "aws_secretsmanager_secret" "stripe" {
  name = "prod/orders/stripe-secret-key"
}

data "aws_secretsmanager_secret_version" "stripe" {
  secret_id = aws_secretsmanager_secret.stripe.id
}

output "db_endpoint" {
  value = aws_db_instance.orders.endpoint
}

output "db_password" {
  value     = aws_db_instance.orders.password
  sensitive = true
}
