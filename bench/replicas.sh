#!/usr/bin/env bash
# Scale-out on this machine, all in one run, through nginx (deploy/nginx-sigil-replicas.conf) on one
# PostgreSQL: private_key_jwt tokens/s with one replica behind nginx, with two, and with one whose
# directory feed is off (the per-request generation read it replaced). Three replicas run
# throughout; nginx is reloaded to send traffic to {A}, {A,B} or {C}. Phases alternate for ROUNDS
# rounds; medians and ratios are printed and written to bench/out/replicas.md.
#   bench/replicas.sh [SECONDS per phase, default 10] [ROUNDS, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${1:-10}
rounds=${2:-3}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace replicas
chmod 755 "$work"

. bench/release.sh
bin="$root/.build/release"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

database=$(postgres_database)
front=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
public="https://127.0.0.1:$front"
export SIGIL_KEK
SIGIL_KEK=$(head -c 32 /dev/urandom | base64)

start_replica() {  # NAME [serve flags…]: starts it; sets $port
    local name=$1
    shift
    "$bin/sigil" serve --data "$work/$name" --listen 127.0.0.1:0 --database "$database" --issuer-url "$public" \
        --trusted-proxy 127.0.0.1 --log-level warning "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 150); do grep -q "listening on" "$work/$name.log" && break; sleep 0.2; done
    port=$(sed -n 's/^Sigil is listening on https:\/\/127.0.0.1://p' "$work/$name.log")
}
start_replica a
port_a=$port
start_replica b
port_b=$port
start_replica c --directory-feed off
port_c=$port
tenant=$(sed -n 's/^  tenant: *//p' "$work/a.log")
for replica in a b c; do cat "$work/$replica/tls/ca.pem"; echo; done >"$work/replicas-ca.pem"

mkdir -p "$work/nginx/logs"
route() {  # PORT…: nginx sends every request to these replicas
    local servers="" port
    for port in "$@"; do servers+="server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'; done
    python3 - "$work" "$front" "$servers" <<'PY'
import pathlib, re, sys
work, front, servers = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
site = pathlib.Path("deploy/nginx-sigil-replicas.conf").read_text()
site = re.sub(r"    server 10\.0\.0\.11:8443[^\n]*\n    server 10\.0\.0\.12:8443[^\n]*\n", servers, site)
for old, new in [("listen 443 ssl;", f"listen 127.0.0.1:{front} ssl;"), ("sigil.example.com", "127.0.0.1"),
                 ("/etc/ssl/sigil/fullchain.pem", str(work / "a/tls/server.pem")),
                 ("/etc/ssl/sigil/privkey.pem", str(work / "a/tls/server-key.pem")),
                 ("/etc/ssl/sigil/replicas-ca.pem", str(work / "replicas-ca.pem"))]:
    assert old in site, old
    site = site.replace(old, new)
prefix = work / "nginx"
(prefix / "nginx.conf").write_text(
    f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\nworker_processes 1;\nevents {{}}\n"
    f"http {{\naccess_log off;\nclient_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n{site}\n}}\n")
PY
    if [ -f "$work/nginx/nginx.pid" ]; then
        "$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s reload
        sleep 1
    else
        "$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
        pids+=($!)
        for _ in $(seq 50); do curl -sf --cacert "$work/a/tls/ca.pem" "$public/healthz" >/dev/null && break; sleep 0.2; done
    fi
}
route "$port_a"

export SIGIL_PROFILE="$work/profile.json"
sigil="$bin/sigil"
"$sigil" login --server "$public" --ca "$work/a/tls/ca.pem" --key "$work/a/admin-key.json" >/dev/null
"$sigil" app create bench-api --identifier-uri api://bench --role-required >/dev/null
"$sigil" app role add bench-api Bench.Call >/dev/null
client=$("$sigil" app create bench-client --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appId"])')
"$sigil" app grant bench-client bench-api Bench.Call >/dev/null
"$bin/sigil-bench" keypair "$work/client.pem" "$work/client.jwk" --kid bench-key
"$sigil" app key add bench-client --jwk "$work/client.jwk" >/dev/null
token_url="$public/$tenant/oauth2/v2.0/token"
sleep 12  # every replica has refreshed its signing keys and its directory

phase() {  # NAME PORT…: one measurement; prints "NAME RATE P50 P99 ERRORS"
    local name=$1
    shift
    route "$@"
    "$bin/sigil-bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count $(( 6000 * duration )) >"$work/assertions.body"
    echo "$name $(wrk -t1 -c16 -d"${duration}s" --latency -s bench/assertions.lua "$token_url" -- "$work/assertions.body" | python3 bench/wrk_summary.py)"
}

: >"$work/phases"
for round in $(seq "$rounds"); do
    echo "round $round of $rounds…" >&2
    phase one "$port_a" >>"$work/phases"
    phase two "$port_a" "$port_b" >>"$work/phases"
    phase feed-off "$port_c" >>"$work/phases"
done

# PostgreSQL's own capacity for sign-in rows on this machine, the replicas idle: pgbench inserting
# 64 rows a transaction (a group commit under load) from 4 clients into the same table.
cat >"$work/insert.sql" <<'SQL'
INSERT INTO sign_ins (id, tenant_id, time, app_id, credential_type, ip_address, succeeded, conditional_access_status, risk_level, correlation_id)
SELECT gen_random_uuid()::text, 'pgbench', (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 'pgbench-app', 'clientAssertion',
    '127.0.0.1', 1, 'notApplied', 'none', gen_random_uuid()::text FROM generate_series(1, 64);
SQL
pgbench=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pgbench
tps=$(runuser -u postgres -- "$pgbench" -n -h 127.0.0.1 -p "$(cat "$pg/port")" -c 4 -j 2 -T "$duration" -f "$work/insert.sql" sigil_bench \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
echo "insert $(python3 -c "print(round($tps * 64))")" >>"$work/phases"

python3 - "$work/phases" "$duration" "$rounds" <<'PY' | tee "$out/replicas.md"
import os, statistics, sys, time
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
def median(name, column):
    return statistics.median(float(r[column]) for r in rows if r[0] == name)
names = {"one": "one replica behind nginx (feed on)", "two": "two replicas behind nginx (feed on)",
         "feed-off": "one replica behind nginx, directory feed off (a generation read per request)"}
print(f"Sigil replicas on one PostgreSQL, {time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, "
      f"private_key_jwt, wrk 16 connections, {sys.argv[2]} s a phase, median of {sys.argv[3]} alternating rounds")
print()
print("| setup | tokens/s | p50 ms | p99 ms | non-2xx (all rounds) |")
print("|---|---|---|---|---|")
for name in ("one", "two", "feed-off"):
    errors = sum(int(r[4]) for r in rows if r[0] == name)
    print(f"| {names[name]} | {median(name, 1):.0f} | {median(name, 2):.2f} | {median(name, 3):.2f} | {errors} |")
print()
print(f"two replicas / one: {median('two', 1) / median('one', 1):.2f}; "
      f"feed on / feed off: {median('one', 1) / median('feed-off', 1):.2f}")
insert = float(next(r[1] for r in rows if r[0] == "insert"))
print(f"PostgreSQL alone, 64-row sign-in inserts from 4 clients: {insert:.0f} rows/s "
      f"({insert / median('one', 1):.1f} x one replica's sign-ins)")
PY
