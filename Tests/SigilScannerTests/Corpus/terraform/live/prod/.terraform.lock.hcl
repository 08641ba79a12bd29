# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/digitalocean/digitalocean" {
  version     = "2.38.0"
  constraints = "~> 2.38"
  hashes = [
    "h1:zmCSiQi+bXZhyfvm9KaewEJ3dg43jRejMSHWM4rl/bM=",
    "zh:ffa9204c1c9eeb488c6daa9b7fcd3ce2818f26ff6bff254199c973226b722641",
    "zh:b0e812e92776e2051ccb9b2baee4458edb3ce587e4620fcd39a4d824aebf9c5e",
    "zh:c6211d3d1d09155e1cd9d00e5d07844d95b18c3a30b760203afe59d496ed631e",
  ]
}

provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.48.0"
  constraints = "~> 5.48"
  hashes = [
    "h1:rCWsIy4QIguj9e/P5ihrrHqINIqZgQV+uRTB19JIt7s=",
    "zh:0d94d7efecc22a4e5d4697ea93ff69b5257313aee99add6cd71b8890a6299c08",
    "zh:927cae578485090fb254c2a992a5bb364573692435359de37f11e9577d7d5abf",
    "zh:dcb64f3f0468e068a29301ffdb801678332777c027aaddbfe258b6736c838acd",
    "zh:c4bbe92537f2f26ff29c1026be55ac964131b5250f067b74c68bd1ee27518e4b",
  ]
}

provider "registry.terraform.io/hashicorp/azurerm" {
  version     = "3.103.1"
  constraints = "~> 3.103"
  hashes = [
    "h1:9+Ntp+U0cwnap3fqpyX/NCnaUz5HEadPd1xmHxMvoog=",
    "zh:bd99413187604e8ef1b12a80bf8843075b7d1fb63c0ad3995bd6c96fde1797ab",
    "zh:d723e1f94f401f062407bd8ecef4e670d262b1e23cc47c3ee38ae14e8496f2fa",
  ]
}
