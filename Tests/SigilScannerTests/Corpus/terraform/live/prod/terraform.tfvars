# prod values. Do NOT commit (see .gitignore)... 
aws_region            = "eu-west-1"
aws_access_key_id     = "⟦aws-access-key-id⟧"
aws_secret_access_key = "⟦aws-secret-access-key⟧"

azure_subscription_id = "96635120-706f-4644-89ad-07d7039d26c7"
azure_client_secret   = "⟦azure-client-secret⟧"

digitalocean_token = "⟦digitalocean-token⟧"
db_password        = "⟦generic-password⟧"
datadog_api_key    = "⟦generic-secret⟧"

cloudflare_api_token = "⟦generic-secret⟧"

newrelic_account_id = 3918224
newrelic_api_key    = "⟦newrelic-user-api-key⟧"
