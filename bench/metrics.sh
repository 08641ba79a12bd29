#!/usr/bin/env bash
# Metrics benchmark, release build, SQLite: the token endpoint (client_secret_post over 16
# keep-alive TLS connections) on a server with `--metrics on` and one with `--metrics off`, in
# alternating rounds of one run; prints both medians, their p99 latencies and the ratio (target:
# on / off at least 0.95). Between rounds /metrics is scraped, as Prometheus would.
# Usage: bench/metrics.sh [SECONDS_PER_ROUND] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-10}
rounds=${2:-5}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace metrics

. bench/release.sh
sigil="$root/.build/release/sigil"
declare -A url=()
for side in on off; do
    start "$side" --metrics "$side"
    secret_client "$work/$side.body"
    url[$side]="$base/$tenant/oauth2/v2.0/token"
    declare "base_$side=$base" "ca_$side=$data/tls/ca.pem"
done
curl -sf --cacert "$ca_off" "$base_off/metrics" >/dev/null && { echo "--metrics off still serves /metrics" >&2; exit 1; }

rates_on=() rates_off=() p99_on=() p99_off=()
for round in $(seq "$rounds"); do
    order=(on off)
    [ $((round % 2)) -eq 0 ] && order=(off on)
    for side in "${order[@]}"; do
        line=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/secret.lua "${url[$side]}" -- "$work/$side.body" | python3 bench/wrk_summary.py)
        read -r rate _ p99 errors <<<"$line"
        [ "$errors" = 0 ] || { echo "round $round metrics $side: $errors non-2xx responses" >&2; exit 1; }
        echo "round $round metrics $side: $rate/s, p99 $p99 ms" >&2
        if [ "$side" = on ]; then rates_on+=("$rate"); p99_on+=("$p99"); else rates_off+=("$rate"); p99_off+=("$p99"); fi
    done
    curl -sf --cacert "$ca_on" "$base_on/metrics" >"$work/scrape.txt"
done
on=$(median "${rates_on[@]}")
off=$(median "${rates_off[@]}")
counted=$(grep '^sigil_token_requests_total{result="success",credential_type="clientSecret"' "$work/scrape.txt" | awk '{print $2}')

{
    echo "Metrics on and off, $(date -u +%Y-%m-%d), $(nproc) cores, release build, SQLite"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| client_secret tokens/s, --metrics on (median of $rounds rounds of ${duration}s, 16 connections) | $on |"
    echo "| their p99 latency, median of the rounds | $(median "${p99_on[@]}") ms |"
    echo "| client_secret tokens/s, --metrics off, alternating rounds | $off |"
    echo "| their p99 latency, median of the rounds | $(median "${p99_off[@]}") ms |"
    echo "| ratio (on / off, target at least 0.95) | $(python3 -c "print(f'{$on / $off:.3f}')") |"
    echo "| rounds, on | ${rates_on[*]} |"
    echo "| rounds, off | ${rates_off[*]} |"
    echo "| successful clientSecret requests counted in the last scrape | $counted |"
    echo "| /metrics scrape size | $(wc -c <"$work/scrape.txt") bytes |"
} | tee "$out/metrics.md"
