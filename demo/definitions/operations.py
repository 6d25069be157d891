"""Demo code location ``operations``: op-based jobs plus a few operational assets.

Assets (5): ops/inventory/{snapshot,reorder_list}, ops/tickets/{open_tickets,sla_breaches},
            ml/churn_features (never materialized by demo/seed.py; depends on the asset
            warehouse/marts/customer_ltv of the *other* location, analytics).
Observable source asset (1): external/supplier_prices (observed, never materialized).
Jobs: inventory_job, ml_training_job (asset jobs); supplier_prices_observation_job (observes
      external/supplier_prices); cleanup_job, healthcheck_job, always_fails_job (op jobs;
      always_fails_job's op always raises; cleanup_job's first op fails on its first attempt
      and succeeds on its retry; healthcheck_job's op logs an AssetObservation of
      ops/tickets/open_tickets).
Schedules: nightly_cleanup_schedule (RUNNING), healthcheck_schedule (RUNNING),
           inventory_schedule (STOPPED), ml_weekly_schedule (STOPPED).
Sensors: healthcheck_sensor (@sensor, job target, RUNNING),
         failed_run_alert_sensor (@run_failure_sensor, RUNNING),
         multi_job_sensor (@sensor with two job targets, STOPPED),
         inventory_asset_sensor (@asset_sensor, STOPPED).

``$DAGSTER_HOME/demo_toggles.json`` (see demo_toggles.py) can leave definitions out or make this
location fail to load.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetSelection,
    DataVersion,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    EventLogEntry,
    MaterializeResult,
    ObserveResult,
    OpExecutionContext,
    RetryPolicy,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    asset_sensor,
    define_asset_job,
    job,
    observable_source_asset,
    op,
    run_failure_sensor,
    sensor,
)
from demo_toggles import check_not_broken, keep, load_toggles

LOCATION = "operations"  # its location_name in demo/workspace.yaml
TOGGLES = load_toggles()
check_not_broken(LOCATION, TOGGLES)

# --- assets ----------------------------------------------------------------


@asset(
    key_prefix=["ops", "inventory"],
    group_name="inventory",
    description="Nightly snapshot of stock levels per warehouse.",
)
def snapshot(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(metadata={"sku_count": 5400})


@asset(
    key_prefix=["ops", "inventory"],
    group_name="inventory",
    deps=[AssetKey(["ops", "inventory", "snapshot"])],
    description="SKUs below their reorder point.",
)
def reorder_list(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(metadata={"sku_count": 37})


@asset(
    key_prefix=["ops", "tickets"],
    group_name="support",
    description="Currently open support tickets.",
)
def open_tickets(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(metadata={"ticket_count": 88})


@asset(
    key_prefix=["ops", "tickets"],
    group_name="support",
    deps=[AssetKey(["ops", "tickets", "open_tickets"])],
    description="Open tickets that breached their SLA.",
)
def sla_breaches(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(metadata={"ticket_count": 4})


@asset(
    key_prefix=["ml"],
    group_name="ml",
    # A cross-location dependency: this asset of `operations` reads an asset of `analytics`.
    deps=[AssetKey(["warehouse", "marts", "customer_ltv"])],
    description="Feature table for the churn model (never materialized in the demo).",
)
def churn_features(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(metadata={"feature_count": 42})


@observable_source_asset(
    key=["external", "supplier_prices"],
    group_name="external",
    description="Price list published by the supplier (observed, not materialized).",
)
def supplier_prices(context) -> ObserveResult:
    return ObserveResult(data_version=DataVersion("2024-06-v3"), metadata={"price_count": 5400})


# --- op jobs ---------------------------------------------------------------


@op(retry_policy=RetryPolicy(max_retries=2))
def find_stale_files(context: OpExecutionContext) -> list[str]:
    if context.retry_number == 0:
        raise RuntimeError("demo failure: the file server timed out (first attempt only)")
    return ["tmp/a.csv", "tmp/b.csv"]


@op
def delete_stale_files(context: OpExecutionContext, paths: list[str]) -> int:
    context.log.info("would delete %s", paths)
    return len(paths)


@job(description="Delete stale temporary files.")
def cleanup_job() -> None:
    delete_stale_files(find_stale_files())


@op
def ping_services(context: OpExecutionContext) -> None:
    context.log.info("all services healthy")
    context.log_event(
        AssetObservation(
            asset_key=AssetKey(["ops", "tickets", "open_tickets"]),
            description="Ticket queue depth seen by the healthcheck",
            metadata={"queue_depth": 88, "healthy": True},
        )
    )


@job(description="Ping internal services.")
def healthcheck_job() -> None:
    ping_services()


@op
def flaky_op(context: OpExecutionContext) -> None:
    raise RuntimeError("demo failure: this op always fails")


@job(description="A job whose only op always raises (produces FAILURE runs).")
def always_fails_job() -> None:
    flaky_op()


inventory_job = define_asset_job(
    "inventory_job",
    selection=AssetSelection.key_prefixes(["ops"]),
    description="Refresh inventory and support-ticket assets.",
)

supplier_prices_observation_job = define_asset_job(
    "supplier_prices_observation_job",
    selection=AssetSelection.assets(supplier_prices.key),
    description="Observe the supplier's price list.",
)

ml_training_job = define_asset_job(
    "ml_training_job",
    selection=AssetSelection.key_prefixes(["ml"]),
    description="Build ML features (never run by the demo seeder).",
)

# --- schedules -------------------------------------------------------------

nightly_cleanup_schedule = ScheduleDefinition(
    name="nightly_cleanup_schedule",
    job=cleanup_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Clean up temporary files every night.",
)

healthcheck_schedule = ScheduleDefinition(
    name="healthcheck_schedule",
    job=healthcheck_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Ping services every 15 minutes.",
)

inventory_schedule = ScheduleDefinition(
    name="inventory_schedule",
    job=inventory_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily inventory refresh (disabled by default).",
)

ml_weekly_schedule = ScheduleDefinition(
    name="ml_weekly_schedule",
    job=ml_training_job,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Weekly feature build (disabled by default).",
)

# --- sensors ---------------------------------------------------------------


@sensor(
    job=healthcheck_job,
    name="healthcheck_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests a healthcheck run when an alert fires (demo: always skips).",
)
def healthcheck_sensor(context: SensorEvaluationContext):
    return SkipReason("demo sensor: no alerts")


@sensor(
    jobs=[cleanup_job, inventory_job],
    name="multi_job_sensor",
    default_status=DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=300,
    description="Targets two jobs (demo: always skips).",
)
def multi_job_sensor(context: SensorEvaluationContext):
    return SkipReason("demo sensor: nothing to do")


@run_failure_sensor(
    name="failed_run_alert_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    description="Would page someone when any run fails.",
)
def failed_run_alert_sensor(context: RunFailureSensorContext) -> None:
    context.log.info("run %s failed", context.dagster_run.run_id)


@asset_sensor(
    asset_key=AssetKey(["ops", "inventory", "snapshot"]),
    job=cleanup_job,
    name="inventory_asset_sensor",
    default_status=DefaultSensorStatus.STOPPED,
    description="Run cleanup after each inventory snapshot.",
)
def inventory_asset_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    yield RunRequest(run_key=context.cursor)


defs = Definitions(
    assets=keep(
        "asset",
        [snapshot, reorder_list, open_tickets, sla_breaches, churn_features, supplier_prices],
        TOGGLES,
    ),
    jobs=[
        cleanup_job,
        healthcheck_job,
        always_fails_job,
        inventory_job,
        ml_training_job,
        supplier_prices_observation_job,
    ],
    schedules=keep(
        "schedule",
        [nightly_cleanup_schedule, healthcheck_schedule, inventory_schedule, ml_weekly_schedule],
        TOGGLES,
    ),
    sensors=keep(
        "sensor",
        [healthcheck_sensor, multi_job_sensor, failed_run_alert_sensor, inventory_asset_sensor],
        TOGGLES,
    ),
)
