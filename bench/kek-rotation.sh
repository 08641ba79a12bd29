#!/usr/bin/env bash
# Key-encryption key rotation over a full vault, release build, SQLite and PostgreSQL:
# VERSIONS secret versions (10 per secret) are written straight into the store, sealed as Sigil
# seals them; then `sigil kek rotate` is timed RUNS times online (through the running server,
# which keeps serving) and RUNS times offline (`--data`, server stopped). Every run re-wraps
# every data key once. Prints the medians, also to bench/out/kek-rotation.md.
# Needs python3 with `cryptography` (bench/vault_fill.py). SIGIL_BIN=PATH runs a release binary
# built elsewhere instead of building one here.
# Usage: bench/kek-rotation.sh [VERSIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
versions=${1:-100000}
runs=${2:-3}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace kek

if [ -z "${SIGIL_BIN:-}" ]; then . bench/release.sh; fi
sigil=${SIGIL_BIN:-$root/.build/release/sigil}

# timed COMMAND…: runs it, checks it re-wrapped every version, prints its wall time in seconds.
timed() {
    local started result
    started=$(date +%s.%N)
    result=$("$@")
    echo "$result" | grep -q "re-wrapped $versions vault data keys" || { echo "unexpected: $result" >&2; exit 1; }
    python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')"
}

declare -A online offline
for store in sqlite postgres; do
    database=
    [ "$store" = postgres ] && database=$(postgres_database)
    start "$store" ${database:+--database "$database"}
    stop_last
    echo "$store: writing $versions secret versions…" >&2
    target="sqlite:$work/$store/sigil.sqlite"
    [ -n "$database" ] && target="postgres:$database"
    python3 bench/vault_fill.py "$target" "$tenant" "$(cat "$work/$store/kek")" "$versions"
    start "$store" ${database:+--database "$database"}
    times=()
    for run in $(seq "$runs"); do
        times+=("$(timed "$sigil" kek rotate)")
        echo "$store online run $run: ${times[-1]} s" >&2
    done
    online[$store]="$(median "${times[@]}") s (runs: ${times[*]})"
    stop_last
    times=()
    for run in $(seq "$runs"); do
        times+=("$(timed "$sigil" kek rotate --data "$work/$store" ${database:+--database "$database"})")
        echo "$store offline run $run: ${times[-1]} s" >&2
    done
    offline[$store]="$(median "${times[@]}") s (runs: ${times[*]})"
done

{
    echo "KEK rotation over $versions vault secret versions, $(date -u +%Y-%m-%d), $(nproc) cores, release build"
    echo
    echo "| store | \`sigil kek rotate\` online (server running), median of $runs | offline (\`--data\`, server stopped), median of $runs |"
    echo "|---|---|---|"
    for store in sqlite postgres; do echo "| $store | ${online[$store]} | ${offline[$store]} |"; done
} | tee "$out/kek-rotation.md"
