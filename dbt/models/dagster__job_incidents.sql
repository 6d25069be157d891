{#- One row per failure streak of a job: its first failure, how many runs failed in a row, and
    the success that ended it (time to recovery = from the end of the first failed run to the end
    of the next successful one). A job's outcomes are its SUCCESS and FAILURE runs in the order
    they ended; canceled and unfinished runs neither start nor end a streak. -#}
with outcomes as (

    select
        job_id,
        job_name,
        code_location,
        repository,
        run_id,
        status,
        ended_at,
        lag(status) over (partition by job_id order by ended_at, run_id) as previous_status
    from {{ ref('int_dagster__runs') }}
    where status in ('SUCCESS', 'FAILURE')
        and ended_at is not null

), numbered as (

    select
        *,
        case when status = 'FAILURE' and coalesce(previous_status, 'SUCCESS') <> 'FAILURE'
            then 1 else 0 end as starts_incident,
        sum(case when status = 'FAILURE' and coalesce(previous_status, 'SUCCESS') <> 'FAILURE'
            then 1 else 0 end) over (
                partition by job_id order by ended_at, run_id
                rows between unbounded preceding and current row
            ) as incident_number
    from outcomes

), failures as (

    select
        job_id,
        incident_number,
        min(ended_at) as first_failure_at,
        max(ended_at) as last_failure_at,
        count(*) as failed_runs
    from numbered
    where status = 'FAILURE'
    group by job_id, incident_number

), first_failures as (

    select job_id, job_name, code_location, repository, incident_number, run_id as first_failed_run_id
    from numbered
    where starts_incident = 1

), recoveries as (

    select job_id, incident_number, run_id as recovery_run_id, ended_at as recovered_at
    from numbered
    where status = 'SUCCESS' and previous_status = 'FAILURE'

)

select
    {{ dbt.concat(['first_failures.job_id', "':'", dbt.cast('first_failures.incident_number', dbt.type_string())]) }} as incident_id,
    first_failures.job_id,
    first_failures.job_name,
    first_failures.code_location,
    first_failures.repository,
    first_failures.incident_number,
    first_failures.first_failed_run_id,
    failures.first_failure_at,
    failures.last_failure_at,
    failures.failed_runs,
    recoveries.recovery_run_id,
    recoveries.recovered_at,
    recoveries.recovery_run_id is not null as is_recovered,
    case when recoveries.recovered_at is not null
        then {{ dagster.seconds_between('failures.first_failure_at', 'recoveries.recovered_at') }}
    end as time_to_recovery_seconds
from first_failures
join failures
    on failures.job_id = first_failures.job_id
    and failures.incident_number = first_failures.incident_number
left join recoveries
    on recoveries.job_id = first_failures.job_id
    and recoveries.incident_number = first_failures.incident_number
