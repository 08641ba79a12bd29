#!/usr/bin/env bash
# Secret scanner benchmark: `sigil scan` (release build) against ripgrep running an equivalent
# combined regex (bench/scan/combined.regex), detect-secrets and CredSweeper, on a tree of real
# source text from the Swift package mirrors with planted secrets, and on a generated git history
# of 3,400 commits. Runs the compared tools back to back in rounds and reports medians and
# per-round ratios. Then scores sigil, CredSweeper and detect-secrets (gitleaks too where apt has
# it) on the labelled corpus of Tests/SigilScannerTests/Corpus: precision and recall per shape
# folder and overall (bench/scan/quality.py), and on the held-out set of bench/scan/heldout
# (written without sight of the rules or the corpus, scored by line). Prints the tables and writes them to
# bench/out/scan-results.md; every false positive and miss goes to bench/out/scan-quality-details.txt.
#
# Usage: bench/scan.sh [RUNS]       (default 5; detect-secrets and CredSweeper get min(RUNS, 3) as one
#                                    run of either takes a minute or more)
# Environment: SIGIL_BIN=path   use this sigil binary instead of building one
#              SCAN_CACHE=dir   corpus, history repo and venv, reused across runs (/tmp/sigil-bench-scan)
#              SCAN_MIRRORS=glob  bare git mirrors to build from (/opt/swift-packages/*/*.git)
#              SCAN_DS_RUNS=n   detect-secrets rounds (0 skips it: a quick check while iterating on sigil)
#              SCAN_CS_RUNS=n   CredSweeper rounds (default as detect-secrets; 0 skips them)
#              SCAN_BASELINE=path  an earlier sigil binary, timed on the tree in the same rounds (the
#                               "at least 0.9 x today's" check of a change to the rules)
#              SCAN_QUALITY=0   skip the labelled corpus (it needs a debug build of the tests: the
#                               corpus is rendered by CorpusDumpTests with SIGIL_CORPUS_DUMP)
set -euo pipefail
sigil=""
if [ -n "${SIGIL_BIN:-}" ]; then  # resolved before the cd, and absolute: the tools run from the cache
    sigil=$(command -v "$SIGIL_BIN") && sigil=$(realpath "$sigil") ||
        { echo "SIGIL_BIN=$SIGIL_BIN: not found" >&2; exit 2; }
fi
baseline=""
if [ -n "${SCAN_BASELINE:-}" ]; then
    baseline=$(command -v "$SCAN_BASELINE") && baseline=$(realpath "$baseline") ||
        { echo "SCAN_BASELINE=$SCAN_BASELINE: not found" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${1:-5}
ds_runs=${SCAN_DS_RUNS:-$(( runs < 3 ? runs : 3 ))}
cs_runs=${SCAN_CS_RUNS:-$(( runs < 3 ? runs : 3 ))}
quality=${SCAN_QUALITY:-1}
cache=${SCAN_CACHE:-/tmp/sigil-bench-scan}
mirrors=${SCAN_MIRRORS:-/opt/swift-packages/*/*.git}
out="$root/bench/out"
mkdir -p "$out" "$cache"
work=$(mktemp -d /tmp/sigil-bench-scan-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Tools: ripgrep from Debian, detect-secrets and CredSweeper from PyPI in a venv kept in the cache
# (not in git), gitleaks from Debian where its lists have it (they have not here: then it is left out).
command -v rg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep >&2; }
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
        rm -rf "$venv"; python3 -m venv "$venv"; }
fi
[ -x "$venv/bin/detect-secrets" ] || "$venv/bin/pip" install -q detect-secrets >&2
[ -x "$venv/bin/credsweeper" ] || "$venv/bin/pip" install -q credsweeper >&2
if ! command -v gitleaks >/dev/null && [ "$quality" != 0 ] && apt-cache show gitleaks >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gitleaks >&2 || true
fi
gitleaks=$(command -v gitleaks || true)
echo "$(rg --version | head -1), detect-secrets $("$venv/bin/detect-secrets" --version)," \
     "$("$venv/bin/credsweeper" --version)${gitleaks:+, gitleaks $("$gitleaks" version 2>/dev/null)}" >&2

if [ -z "$sigil" ]; then
    echo "building release…" >&2
    swift build -c release --product sigil >&2
    sigil="$root/.build/release/sigil"
fi

# The labelled corpus rendered to files (values from the tests' SecretFactory), before the timed
# runs so that the debug build does not share the machine with them.
if [ "$quality" != 0 ]; then
    echo "building tests (debug) to render the labelled corpus…" >&2
    swift build --build-tests >&2
    SIGIL_CORPUS_DUMP="$work/labelled" swift test --skip-build --filter CorpusDumpTests >&2
    [ -f "$work/labelled/labels.json" ] || { echo "CorpusDumpTests wrote no labels.json" >&2; exit 1; }
fi

# Inputs, built once and reused while their generators and parameters are unchanged.
python3 bench/scan/corpus.py "$cache/corpus" --mirrors "$mirrors"
python3 bench/scan/history.py "$cache/history" --mirrors "$mirrors"

python3 bench/scan/measure.py --runs "$runs" --ds-runs "$ds_runs" --cs-runs "$cs_runs" --sigil "$sigil" \
    ${baseline:+--baseline "$baseline"} \
    --detect-secrets "$venv/bin/detect-secrets" --credsweeper "$venv/bin/credsweeper" \
    --regex "$root/bench/scan/combined.regex" \
    --corpus "$cache/corpus" --history "$cache/history" --sample vapor \
    --work "$work" --report "$out/scan-results.md"

# Precision and recall on the labelled corpus, appended to the same report.
if [ "$quality" != 0 ]; then
    python3 bench/scan/quality.py "$work/labelled" --sigil "$sigil" --credsweeper "$venv/bin/credsweeper" \
        --detect-secrets "$venv/bin/detect-secrets" ${gitleaks:+--gitleaks "$gitleaks"} \
        --work "$work/quality" --report "$out/scan-results.md" --details "$out/scan-quality-details.txt"
    # The held-out set (written without sight of the rules), scored the same way for every tool.
    python3 bench/scan/heldout/make.py "$work/heldout" >&2
    python3 bench/scan/heldout/score.py "$work/heldout" --sigil "$sigil" --credsweeper "$venv/bin/credsweeper" \
        --detect-secrets "$venv/bin/detect-secrets" --work "$work/heldout-work" --report "$out/scan-results.md"
fi
