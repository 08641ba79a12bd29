cd /opt/orders
git pull --ff-only
  512  export AWS_SECRET_ACCESS_KEY=⟦aws-secret-access-key⟧
  513  aws s3 ls s3://acme-orders-backups/
  514  export GITLAB_TOKEN=⟦gitlab-pat⟧
  515  export VAULT_ADDR=https://vault.acme-corp.io:8200
  516  vault login -method=oidc
  517  DB_PASS=⟦generic-password⟧ make migrate
  518  history | grep DB_PASS
  519  export HISTCONTROL=ignorespace
  520  export API_SECRET=$(vault kv get -field=api_secret kv/orders/api)
  521  unset API_SECRET DB_PASS
