# ~/.zshrc: dana's laptop

export ZSH="$HOME/.oh-my-zsh"
ZSH_THEME="robbyrussell"
plugins=(git docker kubectl aws terraform fzf)
source "$ZSH/oh-my-zsh.sh"

export EDITOR="nvim"
export PATH="$HOME/.local/bin:$HOME/go/bin:$HOME/.cargo/bin:$PATH"
export GOPATH="$HOME/go"
export KUBECONFIG="$HOME/.kube/config:$HOME/.kube/acme-prod.yaml"

# --- work ---------------------------------------------------------------
export AWS_PROFILE="acme-dev"
export VAULT_ADDR="https://vault.internal:8200"
export GITHUB_TOKEN="⟦github-fine-grained-pat⟧"
export OPENAI_API_KEY="⟦openai-api-key⟧"
export ANTHROPIC_API_KEY="⟦anthropic-api-key⟧"
export HF_TOKEN="$(security find-generic-password -s huggingface -w 2>/dev/null)"
export NPM_TOKEN="$(op read 'op://Private/npm/token')"
export TF_TOKEN_app_terraform_io="⟦terraform-cloud-token⟧"
export DOCKER_PASSWORD=""
export LINEAR_API_KEY="⟦linear-api-key⟧"
export SLACK_TOKEN="⟦slack-user-token⟧"

alias k="kubectl"
alias kprod="kubectl --context acme-prod"
alias tf="terraform"
alias gs="git status -sb"
alias vlogin='vault login -method=oidc role=engineer'

# Fetch a short-lived DB password from Vault and open psql
pgprod() {
  local creds
  creds="$(vault read -format=json database/creds/orders-readonly)"
  PGUSER="$(jq -r .data.username <<<"$creds")" \
  PGPASSWORD="$(jq -r .data.password <<<"$creds")" \
    psql "host=pg-replica.internal dbname=orders sslmode=require"
}

# Decode a JWT payload
jwtd() {
  cut -d. -f2 <<<"$1" | tr '_-' '/+' | base64 -d 2>/dev/null | jq .
}

[ -f ~/.fzf.zsh ] && source ~/.fzf.zsh
eval "$(direnv hook zsh)"
