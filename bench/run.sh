#!/usr/bin/env bash
# Token endpoint benchmark: release build, real TLS server, wrk from a second process, on SQLite
# and on PostgreSQL, next to the machine's raw ES256 sign-plus-verify rate measured in the same
# run. Prints a table and writes it to bench/out/results.md. Usage: bench/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-15}
apps=${BENCH_APPS:-10000}
out="$root/bench/out"
mkdir -p "$out"
work=$(mktemp -d /tmp/sigil-bench.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    scripts/postgres.sh stop "$work/postgres" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

. bench/release.sh
bin="$root/.build/release"

raw=$("$bin/sigil-bench" crypto --seconds 5 --threads "$(nproc)")
echo "raw ES256 sign+verify on $(nproc) cores: $raw pairs/s" >&2

run_store() {
    local store=$1 database_args=()
    if [ "$store" = postgres ]; then
        local url
        url=$(scripts/postgres.sh start "$work/postgres")
        runuser -u postgres -- psql -q -h 127.0.0.1 -p "$(cat "$work/postgres/port")" -c "CREATE DATABASE sigil_bench" >&2
        database_args=(--database "${url%/postgres}/sigil_bench")
    fi
    local data="$work/$store"
    "$bin/sigil" serve --data "$data" --listen 127.0.0.1:0 --log-level warning "${database_args[@]}" >"$work/$store.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/$store.log" && break; sleep 0.2; done
    local base tenant
    base=$(sed -n 's/^Sigil is listening on //p' "$work/$store.log")
    tenant=$(sed -n 's/^  tenant: *//p' "$work/$store.log")
    export SIGIL_PROFILE="$work/$store-profile.json"
    local sigil="$bin/sigil"
    "$sigil" login --server "$base" --ca "$data/tls/ca.pem" --key "$data/admin-key.json" >/dev/null
    "$sigil" app create bench-api --identifier-uri api://bench --role-required >/dev/null
    "$sigil" app role add bench-api Bench.Call >/dev/null
    "$sigil" app create bench-client >/dev/null
    "$sigil" app grant bench-client bench-api Bench.Call >/dev/null
    "$sigil" policy app set --allow-secrets >/dev/null   # the secret path is measured too
    local client secret token_url="$base/$tenant/oauth2/v2.0/token"
    client=$("$sigil" app show bench-client --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appId"])')
    secret=$("$sigil" app secret add bench-client --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secretText"])')
    "$bin/sigil-bench" keypair "$work/client.pem" "$work/client.jwk" --kid bench-key
    "$sigil" app key add bench-client --jwk "$work/client.jwk" >/dev/null
    printf 'grant_type=client_credentials&client_id=%s&client_secret=%s&scope=api%%3A%%2F%%2Fbench%%2F.default\n' "$client" "$secret" >"$work/secret.body"

    # 10,000 more applications, then the idle footprint.
    python3 - "$data/admin-key.json" >"$work/admin.pem" <<'PY'
import json, sys
print(json.load(open(sys.argv[1]))["privateKey"])
PY
    local admin_client admin_kid admin_token
    admin_client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$data/admin-key.json")
    admin_kid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$data/admin-key.json")
    admin_token=$("$bin/sigil-bench" assertions --key "$work/admin.pem" --kid="$admin_kid" --client "$admin_client" \
        --audience "$token_url" --scope "api://sigil-admin/.default" --count 1 \
        | curl -s --cacert "$data/tls/ca.pem" -d @- "$token_url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    echo "$store: creating $apps applications…" >&2
    python3 bench/populate.py "$base" "$data/tls/ca.pem" "$admin_token" "$apps"
    sleep 5
    local rss
    rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status")

    # The floor of this HTTP stack: GET /healthz (no body, no store, no crypto) over the same 16
    # keep-alive TLS connections. A token request cannot cost less than this plus one ES256
    # sign and one verify, which bounds the ratio the token endpoint can reach.
    local floor
    floor=$(wrk -t1 -c16 -d"${duration}s" --latency "$base/healthz" | python3 bench/wrk_summary.py)
    # A private_key_jwt request refused before any token work: its form, with an unsupported
    # grant type. HTTP, TLS, the form and an error body; no assertion, no crypto, no store write
    # (an unknown client's refusals are sampled, DESIGN §8). Every answer is a 400, counted as
    # non-2xx. A token costs at least this plus the two signatures.
    "$bin/sigil-bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count 1 | sed 's/grant_type=client_credentials/grant_type=unsupported/' >"$work/refused.body"
    local refused
    refused=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/secret.lua "$token_url" -- "$work/refused.body" | python3 bench/wrk_summary.py)

    # Peak, closed loop: 16 keep-alive TLS connections from one wrk thread.
    local secret_peak jwt_peak
    secret_peak=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/secret.lua "$token_url" -- "$work/secret.body" | python3 bench/wrk_summary.py)
    local needed=$(( (${secret_peak%% *} + 2000) * duration * 3 / 2 ))
    "$bin/sigil-bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count "$needed" >"$work/assertions.body"
    jwt_peak=$(wrk -t1 -c16 -d"${duration}s" --latency -s bench/assertions.lua "$token_url" -- "$work/assertions.body" | python3 bench/wrk_summary.py)

    # Half the private_key_jwt peak, open loop: requests due at a fixed rate, latency counted
    # from when each was due (sigil-bench paced), so stalls are not hidden.
    local half=$(( ${jwt_peak%% *} / 2 ))
    "$bin/sigil-bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count $(( half * (duration + 2) + 100 )) >"$work/assertions.body"
    local jwt_half
    jwt_half=$("$bin/sigil-bench" paced --url "$token_url" --ca "$data/tls/ca.pem" --bodies "$work/assertions.body" \
        --rate "$half" --seconds "$duration" --warmup 2)

    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    if [ "$store" = postgres ]; then scripts/postgres.sh stop "$work/postgres" >/dev/null 2>&1; fi
    echo "$store $rss $floor $secret_peak $jwt_peak $jwt_half $refused"
}

results=()
for store in sqlite postgres; do results+=("$(run_store "$store")"); done

{
    echo "Sigil token endpoint, $(date -u +%Y-%m-%d), $(nproc) cores, ${duration}s per run, $apps extra apps"
    echo "raw ES256 sign+verify (swift-crypto, $(nproc) threads): $raw pairs/s"
    echo
    echo "| store | method | tokens/s | p50 ms | p99 ms | non-2xx | ratio to raw |"
    echo "|---|---|---|---|---|---|---|"
    for line in "${results[@]}"; do
        read -r store rss f_rate f_p50 f_p99 f_err s_rate s_p50 s_p99 s_err j_rate j_p50 j_p99 j_err h_rate h_p50 h_p99 h_err \
            r_rate r_p50 r_p99 r_err <<<"$line"
        echo "| $store | GET /healthz (HTTP + TLS floor) | $f_rate | $f_p50 | $f_p99 | $f_err | best possible private_key_jwt ratio: $(python3 -c "print(f'{1 / (1 + $raw / $f_rate):.2f}')") |"
        echo "| $store | client_secret (peak) | $s_rate | $s_p50 | $s_p99 | $s_err | $(python3 -c "print(f'{$s_rate/$raw:.2f}')") |"
        echo "| $store | private_key_jwt (peak) | $j_rate | $j_p50 | $j_p99 | $j_err | $(python3 -c "print(f'{$j_rate/$raw:.2f}')") |"
        # The ceiling: an endpoint that does nothing but this HTTP stack, one verify and one sign.
        target=0.5; [ "$store" = postgres ] && target=0.4
        ceiling=$(python3 -c "print(1 / (1 / $f_rate + 1 / $raw))")
        echo "| $store | ceiling 1/(1/floor + 1/raw) | $(python3 -c "print(round($ceiling))") | | | | private_key_jwt at $(python3 -c "print(f'{$j_rate / $ceiling:.3f}')") of it (target ≥ $target) |"
        echo "| $store | POST refused before token work (unsupported grant type, all 400) | $r_rate | $r_p50 | $r_p99 | $r_err | |"
        # What the token's own work (assertion, directory, token, sign-in batch) costs beyond that
        # POST and the two signatures, in µs of the whole machine, against what the target leaves it.
        echo "| $store | token work beyond that POST and the crypto | $(python3 -c "print(round(1e6 * (1 / $j_rate - 1 / $r_rate - 1 / $raw)))") µs | | | | at the target: $(python3 -c "print(round(1e6 * (1 / ($target * $ceiling) - 1 / $r_rate - 1 / $raw)))") µs |"
        echo "| $store | private_key_jwt (open loop at half peak) | $h_rate | $h_p50 | $h_p99 | $h_err | |"
        echo "| $store | idle RSS with $apps apps | $rss MB | | | | |"
    done
} | tee "$out/results.md"
