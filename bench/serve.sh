# Sourced by the benchmarks that start their own servers. `workspace NAME` makes the scratch
# folder $work, removed on exit with every server started in it stopped (and PostgreSQL, if
# `postgres_database` started it). `start NAME [FLAG…]` (with `sigil` set) runs `sigil serve FLAG…`
# on a free port with its data in $work/NAME, waits for it, logs the CLI in, and sets base, tenant,
# data and SIGIL_PROFILE; its process id joins `pids`. `stop_last` stops the last one started.
workspace() {
    work=$(mktemp -d "/tmp/sigil-$1-bench.XXXXXX")
    pg="/tmp/sigil-$1-pg.$$"   # beside $work, which the postgres user cannot enter
    pids=()
    trap cleanup EXIT
}
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    scripts/postgres.sh stop "$pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
stop_last() {
    kill "${pids[-1]}"
    wait "${pids[-1]}" || true
    unset 'pids[-1]'
}
# Starts PostgreSQL in $pg (scripts/postgres.sh installs it when missing), creates the database
# sigil_bench, and prints its URL.
postgres_database() {
    local url
    url=$(scripts/postgres.sh start "$pg")
    psql "$url" -qc "CREATE DATABASE sigil_bench" >/dev/null
    echo "${url%/postgres}/sigil_bench"
}
start() {
    local name=$1
    data="$work/$name"
    "$sigil" serve --data "$data" --listen 127.0.0.1:0 --log-level warning "${@:2}" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 600); do grep -q "  trust CA:" "$work/$name.log" && break; sleep 0.2; done
    grep -q "  trust CA:" "$work/$name.log" || { echo "the $name server did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
    base=$(sed -n 's/^Sigil is listening on //p' "$work/$name.log")
    tenant=$(sed -n 's/^  tenant: *//p' "$work/$name.log")
    export SIGIL_PROFILE="$work/$name-profile.json"
    "$sigil" login --server "$base" --ca "$data/tls/ca.pem" --key "$data/admin-key.json" >/dev/null
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# `secret_client FILE`, on the server the CLI is logged in to: allows secrets, makes the resource
# api://bench and the app bench-client with a secret, and writes its client_secret_post body to FILE.
secret_client() {
    "$sigil" policy app set --allow-secrets >/dev/null
    "$sigil" app create bench-api --identifier-uri api://bench >/dev/null
    "$sigil" app create bench-client >/dev/null
    local client secret
    client=$("$sigil" app show bench-client --json | json '["appId"]')
    secret=$("$sigil" app secret add bench-client --json | json '["secretText"]')
    printf 'grant_type=client_credentials&client_id=%s&client_secret=%s&scope=api%%3A%%2F%%2Fbench%%2F.default\n' "$client" "$secret" >"$1"
}
