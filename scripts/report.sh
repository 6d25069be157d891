#!/usr/bin/env bash
# Builds the dbt package's marts (dbt/) in the warehouse that `fivetran debug` wrote, runs their
# tests, prints the health report and writes it with charts next to the warehouse, then says
# where everything is. scripts/demo.sh ends with it; run it again after any sync.
# DAGSTER_WAREHOUSE points it at another warehouse than files/warehouse.db.
set -euo pipefail
cd "$(dirname "$0")/.."
warehouse=${DAGSTER_WAREHOUSE:-files/warehouse.db}
html="$(dirname "$warehouse")/health_report.html"
dbt_log=dbt/integration_tests/logs/dbt.log

echo "report: building the marts of the dbt package (dbt/) in $warehouse (dbt build)"
if ! output=$(bash scripts/dbt.sh build --no-use-colors 2>&1); then
  printf '%s\n' "$output" | tail -n 40
  echo "report: dbt build failed (full log: $dbt_log)" >&2
  exit 1
fi
printf '%s\n' "$output" | sed -n 's/^.*Done\. /report: dbt build done: /p'
echo
.venv/bin/python scripts/health_report.py --warehouse "$warehouse" --html "$html"

base_url=$(.venv/bin/python -c 'import json; print(json.load(open("configuration.json")).get("base_url", ""))' 2>/dev/null || true)
dagster="$base_url"
if [[ "$base_url" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+) ]]; then
  port=${BASH_REMATCH[2]}
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    dagster="$base_url (not running now: \`.venv/bin/python demo/serve.py --port $port --home .demo/dagster_home\` serves the demo's instance again)"
  fi
fi
cat <<INFO

Where everything is:
  warehouse      $warehouse: the connector's tables in schema tester, the marts in main_dagster,
                 the staging views in main_dagster_source
  health report  $html (open it in a browser)
  dbt package    dbt/ (models, vars, how to run: dbt/README.md); dbt's log: $dbt_log
  Dagster UI     ${dagster:-(no base_url in configuration.json)}

What to run next:
  .venv-dbt/bin/duckdb -readonly $warehouse      # SQL by hand, e.g.
      SELECT * FROM main_dagster.dagster__job_health ORDER BY failure_rate DESC;
  bash scripts/demo.sh                         # again: an incremental sync, the marts, the report
  bash scripts/report.sh                       # the marts and the report only (after a sync)
  bash scripts/test.sh                         # the test suite
INFO
