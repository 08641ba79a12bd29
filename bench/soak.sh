#!/usr/bin/env bash
# Soak: mixed token load at half the private_key_jwt peak, open loop, for MINUTES, on the release
# build. Each window of WINDOW seconds sends, in this order repeated, private_key_jwt (6 in 10),
# client_secret (3 in 10) and a wrong secret (1 in 10, a refusal the load intends); it prints the
# window's p50 and p99 (from when each request was due), the non-2xx beyond the intended refusals,
# and the server's RSS. At the end: RSS of the last window against the first, the spread of p99,
# and every unintended non-2xx. Not part of the test command.
#   bench/soak.sh [MINUTES, default 60] [sqlite|postgres, default sqlite] [WINDOW seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
minutes=${1:-60}
store=${2:-sqlite}
window=${3:-60}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace soak
. bench/release.sh
sigil="$root/.build/release/sigil"
bench="$root/.build/release/sigil-bench"

database_args=()
[ "$store" = postgres ] && database_args=(--database "$(postgres_database)")
start soak "${database_args[@]}"
server_pid=${pids[-1]}
secret_client "$work/secret.body"
client=$("$sigil" app show bench-client --json | json '["appId"]')
"$bench" keypair "$work/client.pem" "$work/client.jwk" --kid bench-key
"$sigil" app key add bench-client --jwk "$work/client.jwk" >/dev/null
sed 's/client_secret=[^&]*/client_secret=not-the-secret/' "$work/secret.body" >"$work/wrong.body"
token_url="$base/$tenant/oauth2/v2.0/token"
assertions() {  # COUNT: fresh single-use assertions, one body a line
    "$bench" assertions --key "$work/client.pem" --kid bench-key --client "$client" --audience "$token_url" \
        --scope api://bench/.default --count "$1"
}

assertions 60000 >"$work/peak.body"
peak=$(wrk -t1 -c16 -d10s --latency -s bench/assertions.lua "$token_url" -- "$work/peak.body" | python3 bench/wrk_summary.py)
rate=$(( ${peak%% *} / 2 ))
echo "private_key_jwt peak ${peak%% *} tokens/s; soaking at $rate requests/s for $minutes min in ${window}s windows ($store)" >&2

windows=$(( minutes * 60 / window ))
: >"$work/windows"
for w in $(seq "$windows"); do
    per=$(( rate * window ))
    assertions $(( per * 6 / 10 + 10 )) >"$work/jwt.body"
    python3 - "$work" "$per" <<'PY'
import sys
work, count = sys.argv[1], int(sys.argv[2])
jwt = iter(open(f"{work}/jwt.body").read().split())
secret, wrong = open(f"{work}/secret.body").read().strip(), open(f"{work}/wrong.body").read().strip()
pattern = ["jwt", "secret", "jwt", "jwt", "secret", "jwt", "wrong", "jwt", "secret", "jwt"]
with open(f"{work}/window.body", "w") as f:
    for i in range(count):
        kind = pattern[i % 10]
        f.write((next(jwt) if kind == "jwt" else secret if kind == "secret" else wrong) + "\n")
PY
    intended=$(grep -c 'not-the-secret' "$work/window.body")
    read -r got p50 p99 errors < <("$bench" paced --url "$token_url" --ca "$data/tls/ca.pem" --bodies "$work/window.body" \
        --rate "$rate" --seconds "$window" --warmup 0 2>/dev/null)
    rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status")
    echo "$w $got $p50 $p99 $(( errors - intended )) $rss" | tee -a "$work/windows" >&2
done

python3 - "$work/windows" "$minutes" "$store" "$rate" "${peak%% *}" <<'PY' | tee "$out/soak-$store.md"
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
minutes, store, rate, peak = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
p99 = [r[3] for r in rows]
print(f"Soak, {store}, {minutes} min at {rate} requests/s (half the private_key_jwt peak of {peak}/s), mixed: "
      f"6 private_key_jwt, 3 client_secret, 1 wrong secret in 10")
print()
print("| window | requests/s | p50 ms | p99 ms | unintended non-2xx | RSS MB |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {int(r[0])} | {r[1]:.0f} | {r[2]:.2f} | {r[3]:.2f} | {int(r[4])} | {int(r[5])} |")
print()
print(f"RSS: first window {int(rows[0][5])} MB, last {int(rows[-1][5])} MB ({rows[-1][5] / rows[0][5]:.2f} x); "
      f"p99: median {statistics.median(p99):.2f} ms, highest {max(p99):.2f} ms; "
      f"unintended non-2xx: {int(sum(r[4] for r in rows))}")
PY
