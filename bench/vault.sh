#!/usr/bin/env bash
# Vault benchmark, release build, SQLite: reading a secret (GET secrets/NAME over 16 keep-alive
# TLS connections, a bearer token for the vault, every read audited) beside the token endpoint
# (client_secret_post, the cheapest grant) on the same server, in alternating rounds; prints
# both medians, their p99 latencies and the ratio.
# Usage: bench/vault.sh [SECONDS_PER_ROUND] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-10}
rounds=${2:-5}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace vault

. bench/release.sh
sigil="$root/.build/release/sigil"
start vault

secret_client "$work/token.body"

"$sigil" vault create bench >/dev/null
head -c 48 /dev/urandom | base64 | tr -d '\n' | "$sigil" vault secret set bench/db-password >/dev/null
# The CLI's read caches its vault token in the profile; wrk sends that token.
"$sigil" vault secret get bench/db-password >/dev/null
python3 -c '
import json, sys
tokens = json.load(open(sys.argv[1]))["otherTokens"]
print(next(t["token"] for scope, t in tokens.items() if scope.startswith("https://vault.")))' "$SIGIL_PROFILE" >"$work/vault.token"

declare -A url=([token]="$base/$tenant/oauth2/v2.0/token" [vault]="$base/vaults/bench/secrets/db-password?api-version=7.5")
declare -A script=([token]=bench/secret.lua [vault]=bench/bearer_get.lua)
declare -A input=([token]="$work/token.body" [vault]="$work/vault.token")
rates_token=() rates_vault=() p99_token=() p99_vault=()
for round in $(seq "$rounds"); do
    order=(token vault)
    [ $((round % 2)) -eq 0 ] && order=(vault token)
    for side in "${order[@]}"; do
        line=$(wrk -t1 -c16 -d"${duration}s" --latency -s "${script[$side]}" "${url[$side]}" -- "${input[$side]}" | python3 bench/wrk_summary.py)
        read -r rate _ p99 errors <<<"$line"
        [ "$errors" = 0 ] || { echo "round $round $side: $errors non-2xx responses" >&2; exit 1; }
        echo "round $round $side: $rate/s, p99 $p99 ms" >&2
        if [ "$side" = token ]; then rates_token+=("$rate"); p99_token+=("$p99"); else rates_vault+=("$rate"); p99_vault+=("$p99"); fi
    done
done
token=$(median "${rates_token[@]}")
vault=$(median "${rates_vault[@]}")
audited=$("$sigil" logs audit --top 1000 --json | python3 -c 'import json,sys; print(sum(e["activityDisplayName"] == "vault.secret.get" for e in json.load(sys.stdin)["value"]))')

{
    echo "Vault reads, $(date -u +%Y-%m-%d), $(nproc) cores, release build, SQLite"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| GET secret/s (median of $rounds rounds of ${duration}s, 16 connections) | $vault |"
    echo "| its p99 latency, median of the rounds | $(median "${p99_vault[@]}") ms |"
    echo "| client_secret tokens/s, same server, alternating rounds | $token |"
    echo "| their p99 latency, median of the rounds | $(median "${p99_token[@]}") ms |"
    echo "| ratio (secret reads / tokens) | $(python3 -c "print(f'{$vault / $token:.3f}')") |"
    echo "| rounds, GET secret | ${rates_vault[*]} |"
    echo "| rounds, tokens | ${rates_token[*]} |"
    echo "| vault.secret.get audit events among the last 1,000 | $audited |"
} | tee "$out/vault.md"
