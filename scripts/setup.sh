#!/usr/bin/env bash
# Creates the three virtual environments this project uses, or refreshes them when their
# requirements change:
#   .venv              the connector, the Fivetran SDK (fivetran debug) and the test tools
#   .venv-dagster      the bundled demo Dagster (dagster-webserver), kept apart because Dagster
#                      and the SDK pin different grpcio/protobuf versions
#   .venv-dagster-old  an older Dagster minor release, for the compatibility integration test
#   .venv-dbt          dbt-duckdb for the dbt package in dbt/ (the marts, the health report)
#                      and the duckdb command-line shell: .venv-dbt/bin/duckdb files/warehouse.db
# Needs only Python 3.11+ and network access to PyPI. Safe to run again: a no-op when current.
# `--demo` sets up only what the demo needs (no .venv-dagster-old).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is required (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

ensure_venv() {  # ensure_venv DIR REQUIREMENTS-FILE...
  local dir=$1; shift
  local wanted
  # Hashed with Python, not sha256sum: macOS has no sha256sum.
  wanted=$(cat "$@" | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements-hash" 2>/dev/null)" = "$wanted" ]; then
    return
  fi
  echo "setup: installing $dir from $* (first time takes a minute or two)" >&2
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip >&2
  local args=()
  for file in "$@"; do args+=(-r "$file"); done
  "$dir/bin/python" -m pip install -qq --disable-pip-version-check "${args[@]}" >&2
  echo "$wanted" > "$dir/.requirements-hash"
}

ensure_venv .venv requirements.txt requirements-dev.txt
ensure_venv .venv-dagster requirements-dagster.txt
if [ "${1:-}" != "--demo" ]; then  # the demo needs no test-only venv
  ensure_venv .venv-dagster-old requirements-dagster-old.txt
fi
ensure_venv .venv-dbt requirements-dbt.txt
