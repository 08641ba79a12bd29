#!/usr/bin/env bash
# Secretless paths, measured side by side in one run on the release build (SQLite):
#   1. the federated exchange (an external token, JWKS cached) against private_key_jwt, in
#      alternating rounds so a noisy neighbour hits both alike; medians and their ratio;
#   2. the agent answering a cached managed-identity token on its IMDS endpoint: latency
#      (one connection, then four) and its resident memory after the load.
# Usage: bench/secretless.sh [SECONDS_PER_ROUND] [ROUNDS]. Prints a table, also to bench/out/secretless.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-10}
rounds=${2:-3}
out="$root/bench/out"
mkdir -p "$out"
work=$(mktemp -d /tmp/sigil-secretless.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt
. bench/release.sh
bin="$root/.build/release"
sigil="$bin/sigil"
export SIGIL_PROFILE="$work/profile.json"

"$sigil" serve --data "$work/data" --listen 127.0.0.1:0 --log-level warning >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.2; done
base=$(sed -n 's/^Sigil is listening on //p' "$work/serve.log")
tenant=$(sed -n 's/^  tenant: *//p' "$work/serve.log")
token_url="$base/$tenant/oauth2/v2.0/token"
"$sigil" login --server "$base" --ca "$work/data/tls/ca.pem" --key "$work/data/admin-key.json" >/dev/null
"$sigil" app create bench-api --identifier-uri api://bench --role-required >/dev/null
"$sigil" app role add bench-api Bench.Call >/dev/null
"$sigil" app create bench-client >/dev/null
"$sigil" app grant bench-client bench-api Bench.Call >/dev/null
client=$("$sigil" app show bench-client --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appId"])')
"$bin/sigil-bench" keypair "$work/client.pem" "$work/client.jwk" --kid bench-key
"$sigil" app key add bench-client --jwk "$work/client.jwk" >/dev/null

# The external issuer: a real HTTPS OIDC issuer on loopback, trusted with its CA; one token,
# presented on every request (external tokens may be reused, as Kubernetes and CI tokens are).
.venv/bin/python Tests/Interop/oidc_issuer.py --serve --token-file "$work/external.jwt" --ca-file "$work/issuer-ca.pem" \
    --sub "system:serviceaccount:bench:client" --alg ES256 >"$work/issuer.out" &
pids+=($!)
for _ in $(seq 100); do grep -q "^issuer " "$work/issuer.out" && break; sleep 0.2; done
issuer=$(sed -n 's/^issuer //p' "$work/issuer.out")
"$sigil" issuer trust "$issuer" --ca "$work/issuer-ca.pem" >/dev/null
"$sigil" app federated add bench-client --name bench-k8s --issuer "$issuer" --subject "system:serviceaccount:bench:client" >/dev/null
python3 - "$client" "$work/external.jwt" >"$work/federated.body" <<'PY'
import sys, urllib.parse
print(urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": sys.argv[1], "scope": "api://bench/.default",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": open(sys.argv[2]).read().strip()}))
PY
code=$(curl -s -o "$work/check.json" -w '%{http_code}' --cacert "$work/data/tls/ca.pem" --data @"$work/federated.body" "$token_url")
[ "$code" = 200 ] || { echo "the federated exchange failed: $(cat "$work/check.json")" >&2; exit 1; }

jwt_rates=()
fed_rates=()
fed_lines=()
jwt_lines=()
for round in $(seq "$rounds"); do
    "$bin/sigil-bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count $(( 6000 * duration )) >"$work/assertions.body"
    line=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/assertions.lua "$token_url" -- "$work/assertions.body" | python3 bench/wrk_summary.py)
    jwt_lines+=("$line"); jwt_rates+=("${line%% *}")
    line=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/secret.lua "$token_url" -- "$work/federated.body" | python3 bench/wrk_summary.py)
    fed_lines+=("$line"); fed_rates+=("${line%% *}")
    echo "round $round: private_key_jwt ${jwt_lines[-1]} | federated ${fed_lines[-1]}" >&2
done

# The agent on this machine: a host, its enrollment, the system identity granted the API.
host=$("$sigil" host create bench-host --json)
join=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["joinToken"])' "$host")
system=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["appId"])' "$host")
"$sigil" app grant "$system" bench-api Bench.Call >/dev/null
"$sigil" agent enroll --server "$base" --ca "$work/data/tls/ca.pem" --join-token "$join" --state "$work/agent" >/dev/null
"$sigil" agent run --state "$work/agent" --imds 127.0.0.1:0 --app-service 127.0.0.1:0 --socket "$work/agent.sock" >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=($agent_pid)
for _ in $(seq 100); do grep -q "imds:" "$work/agent.log" && break; sleep 0.2; done
imds=$(sed -n 's/^ *imds: *//p' "$work/agent.log")
imds_url="$imds/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://bench"
curl -sf -H "Metadata: true" "$imds_url" >/dev/null   # the first request fetches; the rest are cached
agent_one=$(wrk -t1 -c1 -d"${duration}s" --latency -H "Metadata: true" "$imds_url" | python3 bench/wrk_summary.py)
agent_four=$(wrk -t1 -c4 -d"${duration}s" --latency -H "Metadata: true" "$imds_url" | python3 bench/wrk_summary.py)
agent_rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/status")
agent_hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/status")
# RSS counts every page of the executable and the Swift runtime the agent has touched, shared
# with any other process mapping them; PSS splits shared pages among those processes, and the
# private dirty pages are the agent's own.
agent_pss=$(awk '/^Pss:/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/smaps_rollup")
agent_private=$(awk '/^Private_Dirty:/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/smaps_rollup")

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
jwt_median=$(median "${jwt_rates[@]}")
fed_median=$(median "${fed_rates[@]}")
{
    echo "Secretless paths, $(date -u +%Y-%m-%d), $(nproc) cores, release build, SQLite, $rounds rounds of ${duration}s"
    echo
    echo "| method | tokens/s per round | median tokens/s | ratio to private_key_jwt |"
    echo "|---|---|---|---|"
    echo "| private_key_jwt (peak, 16 connections) | ${jwt_rates[*]} | $jwt_median | 1.00 |"
    echo "| federated, JWKS cached (peak, 16 connections) | ${fed_rates[*]} | $fed_median | $(python3 -c "print(f'{$fed_median/$jwt_median:.2f}')") |"
    echo
    echo "| agent, cached token on IMDS | requests/s | p50 ms | p99 ms | non-2xx |"
    echo "|---|---|---|---|---|"
    read -r r p50 p99 e <<<"$agent_one"; echo "| 1 connection | $r | $p50 | $p99 | $e |"
    read -r r p50 p99 e <<<"$agent_four"; echo "| 4 connections | $r | $p50 | $p99 | $e |"
    echo
    echo "agent memory after the load: RSS ${agent_rss} MB (peak ${agent_hwm} MB), PSS ${agent_pss} MB, private dirty ${agent_private} MB"
} | tee "$out/secretless.md"
