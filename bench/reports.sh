#!/usr/bin/env bash
# Triage reports at scale, release build, SQLite and PostgreSQL: APPS applications (each with a
# client secret, half with a key) and SIGNINS sign-ins over 30 days are written straight into the
# store (bench/reports_fill.sql), the usage summaries rebuilt from them; then each report
# (inventory, stale, stages, secretless) and the assessment are requested ROUNDS times through the admin API and the
# median and slowest wall times are printed, also to bench/out/reports.md. Target: 1 s each.
# SIGIL_BIN=PATH runs a release binary built elsewhere instead of building one here.
# Usage: bench/reports.sh [APPS] [SIGNINS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
apps=${1:-10000}
signins=${2:-10000000}
rounds=${3:-5}
out="$root/bench/out"
mkdir -p "$out"
. bench/serve.sh
workspace reports

if [ -z "${SIGIL_BIN:-}" ]; then . bench/release.sh; fi
sigil=${SIGIL_BIN:-$root/.build/release/sigil}

now_ms=$(($(date +%s) * 1000))

declare -A figures
for store in sqlite postgres; do
    database=
    [ "$store" = postgres ] && database=$(postgres_database)
    start "$store" ${database:+--database "$database"}
    stop_last
    echo "$store: writing $apps applications and $signins sign-ins…" >&2
    fill=$(sed -e "s/:tenant/$tenant/g" -e "s/:apps/$apps/g" -e "s/:now/$now_ms/g" bench/reports_fill.sql)
    started=$(date +%s)
    if [ "$store" = sqlite ]; then
        sqlite3 "$work/$store/sigil.sqlite" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TEMP TABLE apps AS WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $apps) SELECT n FROM k;
CREATE TEMP VIEW signins AS WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < $signins) SELECT j FROM k;
$fill
COMMIT;
ANALYZE;
SQL
    else
        psql "$database" -q -v ON_ERROR_STOP=1 <<SQL
BEGIN;
CREATE TEMP TABLE apps AS SELECT n FROM generate_series(1, $apps) n;
CREATE TEMP VIEW signins AS SELECT j FROM generate_series(1, $signins::bigint) j;
$fill
COMMIT;
ANALYZE;
SQL
    fi
    echo "$store: filled in $(($(date +%s) - started)) s" >&2
    start "$store" ${database:+--database "$database"}
    token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accessToken"])' "$SIGIL_PROFILE")
    figures[$store]=$(python3 bench/reports_time.py "$base" "$work/$store/tls/ca.pem" "$token" "$rounds" "$apps")
    echo "$store: ${figures[$store]}" >&2
    stop_last
done

{
    echo "Triage reports over $apps applications and $signins sign-ins, $(date -u +%Y-%m-%d), $(nproc) cores, release build"
    echo
    echo "| store | report | median of $rounds | slowest | rows |"
    echo "|---|---|---|---|---|"
    for store in sqlite postgres; do
        while read -r report median slowest rows; do
            echo "| $store | $report | $median s | $slowest s | $rows |"
        done <<<"${figures[$store]}"
    done
} | tee "$out/reports.md"
