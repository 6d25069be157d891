#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: unit tests and the integration tests
# against a real dagster-webserver through the Fivetran SDK's local runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
