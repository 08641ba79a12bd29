#!/usr/bin/env bash
# Runs the Python interop and reliability suite against an already-built sigil.
#   SIGIL_BIN                 the sigil executable (default: .build/debug/sigil in the repo)
#   SIGIL_TEST_POSTGRES_URL   postgres://USER@HOST:PORT/DB to also run on PostgreSQL (replicas too)
# Extra arguments go to pytest (e.g. ./run.sh -k msal).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "run.sh: cannot create $venv" >&2; exit 2; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
    || { echo "run.sh: pip install failed" >&2; exit 2; }

cd "$repo"
"$venv/bin/python" -m pytest "$here" -q "$@"
exit $?
