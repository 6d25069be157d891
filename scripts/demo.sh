#!/usr/bin/env bash
# The main job: sets everything up, starts the bundled demo Dagster on 127.0.0.1, runs a real
# sync with `fivetran debug` into files/warehouse.db, and prints what landed there.
# Run it again for an incremental sync.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo
.venv/bin/python demo/run_demo.py
# Then the dbt marts, the health report (files/health_report.html) and where everything is.
bash scripts/report.sh
