"""Demo code location ``analytics``: a small warehouse asset graph.

Assets (9), all with multi-part keys and descriptions:
  warehouse/raw/{orders,customers,payments}
  warehouse/staging/{stg_orders,stg_customers,stg_payments}
  warehouse/marts/{orders_summary,customer_ltv}
  reports/daily_revenue_report
  events/page_views (daily partitions: the 14 days before demo_toggles.partition_end_date())

Asset checks (6): warehouse/raw/orders:orders_not_empty (blocking), warehouse/raw/customers:
customers_have_emails, warehouse/staging/stg_orders:unique_order_ids,
warehouse/staging/stg_payments:payments_match_orders (fails, ERROR; also reads stg_orders),
warehouse/marts/customer_ltv:ltv_not_negative (fails, WARN), reports/daily_revenue_report:
report_published.  Each asset job runs the checks of its assets.

Jobs: warehouse_refresh_job (all warehouse/* assets), reports_job (reports/*),
page_views_job (events/page_views, partitioned; a run tagged ``demo/fail_partition=<key>``
fails for that partition).
Schedules: warehouse_hourly_schedule (RUNNING), reports_daily_schedule (STOPPED).
Sensors: raw_orders_asset_sensor (@asset_sensor, RUNNING),
         new_files_sensor (@sensor with a job target, STOPPED).

Nothing here touches external systems; asset bodies are trivial so that
in-process materializations are fast.

``$DAGSTER_HOME/demo_toggles.json`` (see demo_toggles.py) can leave definitions out or make this
location fail to load.
"""

from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DailyPartitionsDefinition,
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
    asset_check,
    asset_sensor,
    define_asset_job,
    sensor,
)
from demo_toggles import check_not_broken, keep, load_toggles, partition_end_date

try:  # Dagster >= 1.12
    from dagster import FreshnessPolicy as _FreshnessPolicy
except ImportError:  # Dagster 1.11: the same policy under its preview name
    from dagster._core.definitions.freshness import InternalFreshnessPolicy as _FreshnessPolicy

LOCATION = "analytics"  # its location_name in demo/workspace.yaml
TOGGLES = load_toggles()
check_not_broken(LOCATION, TOGGLES)

FAIL_PARTITION_TAG = "demo/fail_partition"  # page_views fails for the partition it names
PAGE_VIEW_DAYS = 14

RAW = ["warehouse", "raw"]
STAGING = ["warehouse", "staging"]
MARTS = ["warehouse", "marts"]


def _rows(context: AssetExecutionContext, n: int) -> MaterializeResult:
    context.log.info("materialized %s rows", n)
    return MaterializeResult(metadata={"row_count": n})


# --- raw -------------------------------------------------------------------


@asset(
    key_prefix=RAW,
    group_name="raw",
    description="Orders extracted from the shop database.",
    owners=["team:data-platform"],
    tags={"tier": "bronze", "source": "shop"},
    kinds={"python", "postgres"},
)
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
    owners=["alice@example.com", "team:analytics"],
    tags={"tier": "gold"},
    kinds={"duckdb"},
    freshness_policy=_FreshnessPolicy.time_window(
        fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
    ),
)
def orders_summary(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 90)


@asset(
    key_prefix=MARTS,
    group_name="marts",
    deps=[AssetKey([*STAGING, "stg_customers"]), AssetKey([*STAGING, "stg_orders"])],
    description="Customer lifetime value.",
    owners=["alice@example.com"],
    tags={"tier": "gold", "pii": "true"},
    kinds={"duckdb"},
)
def customer_ltv(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 338)


@asset(
    key_prefix=["reports"],
    group_name="reports",
    deps=[AssetKey([*MARTS, "orders_summary"])],
    description="Daily revenue report published to the BI tool.",
    owners=["bob@example.com"],
    kinds={"tableau"},
)
def daily_revenue_report(context: AssetExecutionContext) -> MaterializeResult:
    return _rows(context, 1)


# --- a partitioned asset -----------------------------------------------------

_PARTITIONS_END = partition_end_date()
page_view_partitions = DailyPartitionsDefinition(
    start_date=(_PARTITIONS_END - timedelta(days=PAGE_VIEW_DAYS)).isoformat(),
    end_date=_PARTITIONS_END.isoformat(),
)


@asset(
    key_prefix=["events"],
    group_name="events",
    partitions_def=page_view_partitions,
    description="Page views per day from the web tracker.",
    owners=["team:growth"],
    kinds={"python"},
)
def page_views(context: AssetExecutionContext) -> MaterializeResult:
    if context.run.tags.get(FAIL_PARTITION_TAG) == context.partition_key:
        raise RuntimeError(f"demo failure: the tracker export for {context.partition_key} is missing")
    return MaterializeResult(metadata={"row_count": 18000 + int(context.partition_key[-2:]) * 37})


# --- asset checks ------------------------------------------------------------


@asset_check(asset=orders, blocking=True, description="Raw orders are not empty (blocks staging).")
def orders_not_empty() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"row_count": 1200})


@asset_check(asset=customers, description="Every customer has an e-mail address.")
def customers_have_emails() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"missing_emails": 0})


@asset_check(asset=stg_orders, description="Order ids are unique after de-duplication.")
def unique_order_ids() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"duplicate_ids": 0})


@asset_check(
    asset=stg_payments,
    additional_deps=[AssetKey([*STAGING, "stg_orders"])],
    description="Every payment belongs to an order.",
)
def payments_match_orders() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description="3 payments have no matching order",
        metadata={"unmatched_payments": 3},
    )


@asset_check(asset=customer_ltv, description="No customer has a negative lifetime value.")
def ltv_not_negative() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description="2 customers have a negative lifetime value (refunds)",
        metadata={"negative_rows": 2, "min_ltv": -12.5},
    )


@asset_check(asset=daily_revenue_report, description="The report was published to the BI tool.")
def report_published() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"dashboard": "revenue-daily"})


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

page_views_job = define_asset_job(
    "page_views_job",
    selection=AssetSelection.assets(page_views),
    partitions_def=page_view_partitions,
    description="Load one day of page views.",
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
            page_views,
        ],
        TOGGLES,
    ),
    asset_checks=keep(
        "check",
        [
            orders_not_empty,
            customers_have_emails,
            unique_order_ids,
            payments_match_orders,
            ltv_not_negative,
            report_published,
        ],
        TOGGLES,
    ),
    jobs=[warehouse_refresh_job, reports_job, page_views_job],
    schedules=keep("schedule", [warehouse_hourly_schedule, reports_daily_schedule], TOGGLES),
    sensors=keep("sensor", [raw_orders_asset_sensor, new_files_sensor], TOGGLES),
)
