#!/usr/bin/env bash
# Pulls the partner's nightly exports. The partner sends presigned links by mail; the ones below
# were pasted in by hand during the March incident and are kept for the replay job.
set -euo pipefail
OUT=/data/partner-exports

curl -fsSL -o "$OUT/orders-2024-03-11.csv" "https://partner-exports.s3.eu-central-1.amazonaws.com/acme/orders-2024-03-11.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=⟦aws-access-key-id⟧%2F20240311%2Feu-central-1%2Fs3%2Faws4_request&X-Amz-Date=20240311T061502Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=⟦aws-presigned-url⟧"
curl -fsSL -o "$OUT/returns-2024-03-11.csv" "https://partner-exports.s3.amazonaws.com/acme/returns-2024-03-11.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=⟦aws-access-key-id⟧%2F20240311%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240311T061503Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=⟦aws-presigned-url⟧"

# The replay job signs its own links now:
url=$(aws s3 presign "s3://partner-exports/acme/orders-$(date -u +%F).csv" --expires-in 900)
curl -fsSL -o "$OUT/orders-today.csv" "$url"
curl -fsSL -o "$OUT/stock.csv" "https://partner-exports.s3.amazonaws.com/acme/stock.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${AWS_ACCESS_KEY_ID}%2F${DAY}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${SIGNATURE}"

# Azure side of the same partner
azcopy copy "⟦azure-sas-token⟧" "$OUT/azure/" --recursive
azcopy copy "https://stpartnerexports.blob.core.windows.net/acme?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2024-12-31T23:59:59Z&sig=${AZURE_SAS_SIG}" "$OUT/azure/" --recursive

# Their REST API wants the key in the query string
curl -fsS "https://api.partner-logistics.de/v2/shipments?since=24h&apikey=⟦generic-secret⟧" > "$OUT/shipments.json"
curl -fsS "https://api.partner-logistics.de/v2/shipments?since=24h&apikey=$PARTNER_KEY" > "$OUT/shipments-ci.json"
curl -fsS "https://api.partner-logistics.de/v2/depots?page=2&key=depot_id&order=asc" > "$OUT/depots.json"
wget -q -O "$OUT/rates.json" "https://openexchangerates.org/api/latest.json?base=EUR&symbols=USD,GBP,CHF&access_token=⟦generic-secret⟧"

# OAuth client-credentials call the old way (the secret in the URL) — to be replaced by sigil
curl -fsS -X POST "https://login.partner-logistics.de/oauth/token?grant_type=client_credentials&client_id=acme-exports&client_secret=⟦generic-secret⟧"
