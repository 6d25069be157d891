"""Demo code location ``analytics``: a small warehouse asset graph.

Assets (9), all with multi-part keys and descriptions:
  warehouse/raw/{orders,customers,payments}
  warehouse/staging/{stg_orders,stg_customers,stg_payments}
  warehouse/marts/{orders_summary,customer_ltv}
  reports/daily_revenue_report

Jobs: warehouse_refresh_job (all warehouse/* assets), reports_job (reports/*).
Schedules: warehouse_hourly_schedule (RUNNING), reports_daily_schedule (STOPPED).
Sensors: raw_orders_asset_sensor (@asset_sensor, RUNNING),
         new_files_sensor (@sensor with a job target, STOPPED).

Nothing here touches external systems; asset bodies are trivial so that
in-process materializations are fast.

``$DAGSTER_HOME/demo_toggles.json`` (see demo_toggles.py) can leave definitions out or make this
location fail to load.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    EventLogEntry,
    MaterializeResult,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    asset_sensor,
    define_asset_job,
    sensor,
)
from demo_toggles import check_not_broken, keep, load_toggles

LOCATION = "analytics"  # its location_name in demo/workspace.yaml
TOGGLES = load_toggles()
check_not_broken(LOCATION, TOGGLES)

RAW = ["warehouse", "raw"]
STAGING = ["warehouse", "staging"]
MARTS = ["warehouse", "marts"]


def _rows(context: AssetExecutionContext, n: int) -> MaterializeResult:
    context.log.info("materialized %s rows", n)
    return MaterializeResult(metadata={"row_count": n})


# --- raw -------------------------------------------------------------------


@asset(key_prefix=RAW, group_name="raw", description="Orders extracted from the shop database.")
def orders(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1200)


@asset(key_prefix=RAW, group_name="raw", description="Customer records from the CRM export.")
def customers(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 340)


@asset(key_prefix=RAW, group_name="raw", description="Payment events from the payment provider.")
def payments(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1150)


# --- staging ---------------------------------------------------------------


@asset(
    key_prefix=STAGING,
    group_name="staging",
    deps=[AssetKey([*RAW, "orders"])],
    description="Cleaned and de-duplicated orders.",
)
def stg_orders(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1190)


@asset(
    key_prefix=STAGING,
    group_name="staging",
    deps=[AssetKey([*RAW, "customers"])],
    description="Customers with normalized e-mail addresses and countries.",
)
def stg_customers(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 338)


@asset(
    key_prefix=STAGING,
    group_name="staging",
    deps=[AssetKey([*RAW, "payments"])],
    description="Payments converted to a single currency.",
)
def stg_payments(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1150)


# --- marts -----------------------------------------------------------------


@asset(
    key_prefix=MARTS,
    group_name="marts",
    deps=[AssetKey([*STAGING, "stg_orders"]), AssetKey([*STAGING, "stg_payments"])],
    description="Per-day order counts and revenue.",
)
def orders_summary(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 90)


@asset(
    key_prefix=MARTS,
    group_name="marts",
    deps=[AssetKey([*STAGING, "stg_customers"]), AssetKey([*STAGING, "stg_orders"])],
    description="Customer lifetime value.",
)
def customer_ltv(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 338)


@asset(
    key_prefix=["reports"],
    group_name="reports",
    deps=[AssetKey([*MARTS, "orders_summary"])],
    description="Daily revenue report published to the BI tool.",
)
def daily_revenue_report(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1)


# --- jobs, schedules, sensors ----------------------------------------------

warehouse_refresh_job = define_asset_job(
    "warehouse_refresh_job",
    selection=AssetSelection.key_prefixes(["warehouse"]),
    description="Refresh all warehouse tables (raw -> staging -> marts).",
)

reports_job = define_asset_job(
    "reports_job",
    selection=AssetSelection.key_prefixes(["reports"]),
    description="Rebuild the published reports.",
)

warehouse_hourly_schedule = ScheduleDefinition(
    name="warehouse_hourly_schedule",
    job=warehouse_refresh_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Refresh the warehouse every hour.",
)

reports_daily_schedule = ScheduleDefinition(
    name="reports_daily_schedule",
    job=reports_job,
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Rebuild reports every morning (disabled by default).",
)


@asset_sensor(
    asset_key=AssetKey([*RAW, "orders"]),
    job=reports_job,
    name="raw_orders_asset_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Rebuild reports whenever raw orders are materialized.",
)
def raw_orders_asset_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    yield RunRequest(run_key=context.cursor)


@sensor(
    job=warehouse_refresh_job,
    name="new_files_sensor",
    default_status=DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=120,
    description="Would watch a landing bucket for new files (demo: always skips).",
)
def new_files_sensor(context: SensorEvaluationContext):
    return SkipReason("demo sensor: no new files")


defs = Definitions(
    assets=keep(
        "asset",
        [
            orders,
            customers,
            payments,
            stg_orders,
            stg_customers,
            stg_payments,
            orders_summary,
            customer_ltv,
            daily_revenue_report,
        ],
        TOGGLES,
    ),
    jobs=[warehouse_refresh_job, reports_job],
    schedules=keep("schedule", [warehouse_hourly_schedule, reports_daily_schedule], TOGGLES),
    sensors=keep("sensor", [raw_orders_asset_sensor, new_files_sensor], TOGGLES),
)
