#!/usr/bin/env bash
# Builds the marketing site and syncs it to S3 + DigitalOcean Spaces (mirror for APAC).
# Usage: ./deploy/deploy-static-site.sh [staging|production]
set -euo pipefail

ENVIRONMENT="${1:-staging}"
BUILD_DIR="dist"
BUCKET="acme-www-${ENVIRONMENT}"
DISTRIBUTION_ID="E2Q7XK4PZ9LM3B"

# Deploy user "www-deployer" (s3:PutObject on acme-www-* and cloudfront:CreateInvalidation only).
export AWS_ACCESS_KEY_ID="⟦aws-access-key-id⟧"
export AWS_SECRET_ACCESS_KEY="⟦aws-secret-access-key⟧"
export AWS_DEFAULT_REGION="eu-west-1"

# DigitalOcean API token for the Spaces CDN purge.
DIGITALOCEAN_ACCESS_TOKEN="${DIGITALOCEAN_ACCESS_TOKEN:-⟦digitalocean-token⟧}"
export DIGITALOCEAN_ACCESS_TOKEN

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

log "building ${ENVIRONMENT}"
npm ci --no-audit --no-fund
NODE_ENV=production npm run build -- --mode "${ENVIRONMENT}"

log "syncing to s3://${BUCKET}"
aws s3 sync "${BUILD_DIR}/" "s3://${BUCKET}/" \
  --delete \
  --cache-control "public, max-age=31536000, immutable" \
  --exclude "index.html" --exclude "*.json"
aws s3 cp "${BUILD_DIR}/index.html" "s3://${BUCKET}/index.html" --cache-control "no-cache"

log "invalidating CloudFront ${DISTRIBUTION_ID}"
aws cloudfront create-invalidation --distribution-id "${DISTRIBUTION_ID}" --paths "/index.html" "/*.json" >/dev/null

if [[ "${ENVIRONMENT}" == "production" ]]; then
  log "mirroring to DigitalOcean Spaces"
  s3cmd sync --acl-public --delete-removed "${BUILD_DIR}/" "s3://acme-www-apac/"
  CDN_ID="$(doctl compute cdn list --format ID,Origin --no-header | awk '/acme-www-apac/ {print $1}')"
  doctl compute cdn flush "${CDN_ID}" --files '*'
fi

log "notifying the release dashboard"
curl -fsS -X POST "https://releases.internal.acme-corp.io/api/deployments" \
  -H "Authorization: Bearer ⟦jwt⟧" \
  -H "Content-Type: application/json" \
  -d "{\"service\":\"www\",\"environment\":\"${ENVIRONMENT}\",\"commit\":\"$(git rev-parse HEAD)\"}"

log "done"
