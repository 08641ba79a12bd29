#!/usr/bin/env bash
# Deploys the orders stack to the legacy VM hosts (the k8s clusters use Argo CD).
# Usage: scripts/deploy.sh <version>
set -euo pipefail

VERSION="${1:?usage: deploy.sh <version>}"
REGISTRY=registry.acme-corp.io
HOSTS=(app-01.dc1.acme-corp.io app-02.dc1.acme-corp.io)

log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# Registry login: the CI passes the password on stdin; the fallback below is from the 2022 migration.
if [[ -n "${REGISTRY_PASSWORD:-}" ]]; then
  echo "$REGISTRY_PASSWORD" | docker login -u ci-deploy --password-stdin "$REGISTRY"
else
  docker login -u ci-deploy -p ⟦generic-password⟧ "$REGISTRY"
fi
docker login ghcr.io -u acme-ci -p ⟦github-pat⟧

for host in "${HOSTS[@]}"; do
  log "deploying $VERSION to $host"
  sshpass -p '⟦generic-password⟧' ssh -p 2222 -o StrictHostKeyChecking=no deploy@"$host" \
    "docker pull $REGISTRY/orders/api:$VERSION && systemctl restart orders-api"
  scp -P 2222 -p config/orders.env deploy@"$host":/etc/orders/orders.env
done

# Database migrations run from the first host.
mysql -h db-01.dc1.acme-corp.io -u orders_admin -p⟦generic-password⟧ orders < migrations/"$VERSION".sql
mysql -h db-01.dc1.acme-corp.io -u orders_admin -p orders -e 'SELECT version FROM schema_migrations'
mysql --host=db-01.dc1.acme-corp.io --user=orders_admin --password="$MYSQL_PASSWORD" -e 'FLUSH PRIVILEGES'

# Warm the cache; redis-cli needs the password since the 6.2 upgrade.
redis-cli -h cache-01.dc1.acme-corp.io -a '⟦generic-password⟧' --no-auth-warning FLUSHDB
redis-cli -h cache-01.dc1.acme-corp.io -p 6380 PING

mkdir -p /var/tmp/orders-release/"$VERSION"
cp -p build/orders-"$VERSION".tar.gz /var/tmp/orders-release/"$VERSION"/
tar -xpf build/orders-"$VERSION".tar.gz -C /var/tmp/orders-release/"$VERSION"

# Notify the release channel.
curl -sS -X POST https://hooks.acme-corp.io/releases \
  -H "Content-Type: application/json" \
  -H "X-Api-Key: ⟦generic-secret⟧" \
  -d "{\"service\":\"orders\",\"version\":\"$VERSION\"}"
curl -sS -X POST https://status.acme-corp.io/api/v1/incidents \
  -H "Authorization: Bearer $STATUSPAGE_TOKEN" \
  -H 'Accept: application/json'
log "done"
