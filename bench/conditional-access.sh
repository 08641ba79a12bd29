#!/usr/bin/env bash
# Conditional Access benchmark, release build, SQLite:
#  1. the token endpoint's rate with 100 enabled policies and 1,000 named locations beside the
#     same server setup with none, in alternating rounds on two servers started the same way
#     (client_secret_post over 16 keep-alive TLS connections, the cheapest grant, so evaluation
#     weighs most); prints both medians and the ratio;
#  2. impact analysis: 1,000,000 sign-ins written straight into the store, then one
#     `sigil policy ca impact` against a draft policy, timed.
# Usage: bench/conditional-access.sh [SECONDS_PER_ROUND] [ROUNDS] [SIGN_INS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-10}
rounds=${2:-5}
signins=${3:-1000000}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace ca

. bench/release.sh
sigil="$root/.build/release/sigil"
# The evaluation alone, in one thread, with the same policies and locations (noise-free beside
# the side-by-side rates, which a shared machine moves by ±25 %).
evaluation=$("$root/.build/release/sigil-bench" ca-eval | sed -n 's/.*: \([0-9.]*\) µs an evaluation.*/\1/p')


# One server per side, the same client on each.
declare -A body url
for side in none policies; do
    start "$side"
    "$sigil" policy app set --allow-secrets >/dev/null   # the cheapest grant, client_secret, is measured
    "$sigil" app create bench-api --identifier-uri api://bench --role-required >/dev/null
    "$sigil" app role add bench-api Bench.Call >/dev/null
    "$sigil" app create bench-client >/dev/null
    "$sigil" app grant bench-client bench-api Bench.Call >/dev/null
    client=$("$sigil" app show bench-client --json | json '["appId"]')
    secret=$("$sigil" app secret add bench-client --json | json '["secretText"]')
    printf 'grant_type=client_credentials&client_id=%s&client_secret=%s&scope=api%%3A%%2F%%2Fbench%%2F.default\n' "$client" "$secret" >"$work/$side.body"
    url[$side]="$base/$tenant/oauth2/v2.0/token"
    if [ "$side" = policies ]; then
        echo "creating 1,000 named locations and 100 policies…" >&2
        python3 bench/ca_populate.py "$base" "$data/tls/ca.pem" "$(json '["accessToken"]' <"$SIGIL_PROFILE")" 1000 100 sigil-bootstrap-admin
        "$sigil" policy ca what-if --sp bench-client --ip 127.0.0.1 --json | python3 -c '
import json, sys
result = json.load(sys.stdin)
assert len(result["policies"]) == 100 and result["conditionalAccessStatus"] == "notApplied", result["conditionalAccessStatus"]'
    fi
done

# Alternating rounds (none first, then policies first, …) so drift on the shared machine
# weighs on both sides alike; each round's two runs are back to back, and the median of the
# rounds' own ratios is printed beside the ratio of the medians (the machine's load moves more
# between rounds than within one).
rates_none=() rates_policies=()
for round in $(seq "$rounds"); do
    order=(none policies)
    [ $((round % 2)) -eq 0 ] && order=(policies none)
    for side in "${order[@]}"; do
        line=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/secret.lua "${url[$side]}" -- "$work/$side.body" | python3 bench/wrk_summary.py)
        read -r rate _ _ errors <<<"$line"
        [ "$errors" = 0 ] || { echo "round $round $side: $errors non-2xx responses" >&2; exit 1; }
        echo "round $round $side: $rate tokens/s" >&2
        if [ "$side" = none ]; then rates_none+=("$rate"); else rates_policies+=("$rate"); fi
    done
done
none=$(median "${rates_none[@]}")
with=$(median "${rates_policies[@]}")
ratios=()
for i in "${!rates_none[@]}"; do ratios+=("$(python3 -c "print(f'{${rates_policies[$i]} / ${rates_none[$i]}:.3f}')")"); done
for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" || true; done
pids=()

# Impact: the history goes straight into a stopped server's store.
start impact
python3 bench/populate.py "$base" "$data/tls/ca.pem" "$(json '["accessToken"]' <"$SIGIL_PROFILE")" 100
"$sigil" policy ca location create --name office --cidr 10.0.0.0/8 --trusted >/dev/null
"$sigil" app list --json >"$work/apps.json"
kill "${pids[0]}"; wait "${pids[0]}" || true; pids=()
echo "writing $signins sign-ins into the store…" >&2
python3 bench/ca_signins.py "$data/sigil.sqlite" "$tenant" "$work/apps.json" "$signins"
start impact
cat >"$work/draft.json" <<'JSON'
{"displayName": "outside the office", "conditions": {"clientApplications": {"includeServicePrincipals": ["All"]},
 "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
 "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
JSON
started=$(date +%s.%N)
"$sigil" policy ca impact "$work/draft.json" --days 30 --json >"$work/impact.json"
elapsed=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
read -r evaluated blocked principals <<<"$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["evaluatedSignIns"], r["blockedSignIns"], len(r["servicePrincipals"]))' "$work/impact.json")"

{
    echo "Conditional Access, $(date -u +%Y-%m-%d), $(nproc) cores, release build, SQLite"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| client_secret tokens/s, no policies (median of $rounds rounds of ${duration}s) | $none |"
    echo "| client_secret tokens/s, 100 enabled policies and 1,000 named locations (median of $rounds) | $with |"
    echo "| ratio of the medians (with / without) | $(python3 -c "print(f'{$with / $none:.3f}')") |"
    echo "| median of the rounds' ratios | $(median "${ratios[@]}") |"
    echo "| each round's ratio | ${ratios[*]} |"
    echo "| one evaluation (sigil-bench ca-eval, one thread) | $evaluation µs |"
    echo "| that, against the CPU time a token costs at the median rate without policies ($(nproc) cores / $none tokens/s) | $(python3 -c "print(f'{$evaluation / ($(nproc) * 1e6 / $none) * 100:.2f} %')") |"
    echo "| rounds without | ${rates_none[*]} |"
    echo "| rounds with | ${rates_policies[*]} |"
    echo "| impact: sign-ins replayed / would be blocked / service principals | $evaluated / $blocked / $principals |"
    echo "| impact: wall time of \`sigil policy ca impact\` | ${elapsed} s |"
} | tee "$out/conditional-access.md"
