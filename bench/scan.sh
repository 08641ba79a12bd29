#!/usr/bin/env bash
# Secret scanner benchmark: `sigil scan` (release build) against ripgrep running an equivalent
# combined regex (bench/scan/combined.regex) and against detect-secrets, on a tree of real source
# text from the Swift package mirrors with planted secrets, and on a generated git history of
# 3,400 commits. Runs the compared tools back to back in rounds and reports medians and
# per-round ratios. Prints a table and writes it to bench/out/scan-results.md.
#
# Usage: bench/scan.sh [RUNS]       (default 5; detect-secrets gets min(RUNS, 3) as one run takes a minute)
# Environment: SIGIL_BIN=path   use this sigil binary instead of building one
#              SCAN_CACHE=dir   corpus, history repo and venv, reused across runs (/tmp/sigil-bench-scan)
#              SCAN_MIRRORS=glob  bare git mirrors to build from (/opt/swift-packages/*/*.git)
#              SCAN_DS_RUNS=n   detect-secrets rounds (0 skips it: a quick check while iterating on sigil)
set -euo pipefail
sigil=""
if [ -n "${SIGIL_BIN:-}" ]; then  # resolved before the cd, and absolute: the tools run from the cache
    sigil=$(command -v "$SIGIL_BIN") && sigil=$(realpath "$sigil") ||
        { echo "SIGIL_BIN=$SIGIL_BIN: not found" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${1:-5}
ds_runs=${SCAN_DS_RUNS:-$(( runs < 3 ? runs : 3 ))}
cache=${SCAN_CACHE:-/tmp/sigil-bench-scan}
mirrors=${SCAN_MIRRORS:-/opt/swift-packages/*/*.git}
out="$root/bench/out"
mkdir -p "$out" "$cache"
work=$(mktemp -d /tmp/sigil-bench-scan-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Tools: ripgrep from Debian, detect-secrets from PyPI in a venv kept in the cache (not in git).
command -v rg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep >&2; }
venv="$cache/venv"
if [ ! -x "$venv/bin/detect-secrets" ]; then
    python3 -m venv "$venv" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
        rm -rf "$venv"; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q detect-secrets >&2
fi
echo "$(rg --version | head -1), detect-secrets $("$venv/bin/detect-secrets" --version)" >&2

if [ -z "$sigil" ]; then
    echo "building release…" >&2
    swift build -c release --product sigil >&2
    sigil="$root/.build/release/sigil"
fi

# Inputs, built once and reused while their generators and parameters are unchanged.
python3 bench/scan/corpus.py "$cache/corpus" --mirrors "$mirrors"
python3 bench/scan/history.py "$cache/history" --mirrors "$mirrors"

python3 bench/scan/measure.py --runs "$runs" --ds-runs "$ds_runs" --sigil "$sigil" \
    --detect-secrets "$venv/bin/detect-secrets" --regex "$root/bench/scan/combined.regex" \
    --corpus "$cache/corpus" --history "$cache/history" --sample vapor \
    --work "$work" --report "$out/scan-results.md"
