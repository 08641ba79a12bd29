packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
  }
}

variable "winrm_password" {
  type      = string
  sensitive = true
  default   = "⟦generic-password⟧"
}

variable "winrm_username" {
  type    = string
  default = "Administrator"
}

variable "artifactory_token" {
  type      = string
  sensitive = true
  default   = env("ARTIFACTORY_TOKEN")
}

variable "chocolatey_api_key" {
  type    = string
  default = "⟦generic-secret⟧"
}

source "amazon-ebs" "windows" {
  ami_name       = "orders-win2022-{{timestamp}}"
  instance_type  = "t3.large"
  communicator   = "winrm"
  winrm_username = var.winrm_username
  winrm_password = var.winrm_password
  winrm_use_ssl  = true
  user_data_file = "./scripts/enable-winrm.ps1"
}

build {
  sources = ["source.amazon-ebs.windows"]

  provisioner "powershell" {
    environment_vars = ["ARTIFACTORY_TOKEN=${var.artifactory_token}"]
    script           = "./scripts/install-agent.ps1"
  }
}
