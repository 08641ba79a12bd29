# Sourced by the benchmarks that start their own servers (after bench/release.sh, with `work`,
# `sigil` and an array `pids` set): `start NAME` runs `sigil serve` on a free port with its data
# in $work/NAME, waits for it, logs the CLI in, and sets base, tenant, data and SIGIL_PROFILE.
start() {
    local name=$1
    data="$work/$name"
    "$sigil" serve --data "$data" --listen 127.0.0.1:0 --log-level warning >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 600); do grep -q "  trust CA:" "$work/$name.log" && break; sleep 0.2; done
    grep -q "  trust CA:" "$work/$name.log" || { echo "the $name server did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
    base=$(sed -n 's/^Sigil is listening on //p' "$work/$name.log")
    tenant=$(sed -n 's/^  tenant: *//p' "$work/$name.log")
    export SIGIL_PROFILE="$work/$name-profile.json"
    "$sigil" login --server "$base" --ca "$data/tls/ca.pem" --key "$data/admin-key.json" >/dev/null
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
