#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: unit tests and the integration tests
# against a real dagster-webserver through the Fivetran SDK's local runner.
#
# Test files run in TEST_WORKERS parallel processes (default 3; 0 runs them in this one): the
# integration tests spend most of their time waiting on Dagster and on throttled requests, so
# even 2 cores run three files at once. Each worker starts its own demo Dagster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" --dist loadfile "$@"
