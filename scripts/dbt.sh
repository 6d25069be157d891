#!/usr/bin/env bash
# Runs dbt (.venv-dbt) on the Dagster dbt package in dbt/, against the DuckDB warehouse that
# `fivetran debug` wrote: files/warehouse.db, or DAGSTER_WAREHOUSE. Arguments go to dbt:
#   bash scripts/dbt.sh build        # staging views, marts, tests
#   bash scripts/dbt.sh docs generate
# dbt runs from dbt/integration_tests (profile and vars for the local warehouse); its target/
# and logs/ stay there unless DBT_TARGET_PATH / DBT_LOG_PATH say otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dbt="$root/.venv-dbt/bin/dbt"
if [ ! -x "$dbt" ]; then
  echo "dbt: $dbt is missing: run \`bash scripts/setup.sh\` first" >&2
  exit 1
fi
warehouse=${DAGSTER_WAREHOUSE:-files/warehouse.db}
case "$warehouse" in /*) ;; *) warehouse="$root/$warehouse" ;; esac
if [ ! -f "$warehouse" ]; then
  echo "dbt: no warehouse at $warehouse: run \`bash scripts/demo.sh\` (or a sync) first" >&2
  exit 1
fi
export DAGSTER_WAREHOUSE="$warehouse"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
cd dbt/integration_tests
# The package is a local one: `dbt deps` only links ../ into dbt_packages/ (no network).
if [ ! -e dbt_packages/dagster ]; then
  "$dbt" deps --quiet >&2
fi
exec "$dbt" "$@" --profiles-dir .
