{#- The body of a staging model's base CTE: the `staging_columns` of the source table
    `source_relation`, each NULL when the table lacks it (dagster.fill_staging_columns), without
    the rows Fivetran soft-deleted (`_fivetran_deleted`: definitions removed from Dagster). A
    table the connector hasn't created yet (an older connector version, or a table skipped
    because the Dagster server can't serve it) gives no rows instead of an error. -#}
{% macro select_staging_columns(source_relation, staging_columns) -%}
{%- set relation = none -%}
{%- if execute -%}
    {%- set relation = adapter.get_relation(
        database=source_relation.database,
        schema=source_relation.schema,
        identifier=source_relation.identifier) -%}
{%- endif -%}
{%- if relation is none -%}
    {%- if execute -%}
        {{ log("dagster: " ~ source_relation ~ " does not exist yet; " ~ model.name ~ " is empty", info=true) }}
    {%- endif %}
select *
from (
    select {{ dagster.fill_staging_columns([], staging_columns) }}
) as missing_table
where 1 = 0
{%- else -%}
    {%- set source_columns = adapter.get_columns_in_relation(relation) %}
select {{ dagster.fill_staging_columns(source_columns, staging_columns) }}
from {{ source_relation }}
    {%- if '_fivetran_deleted' in source_columns | map(attribute='name') | map('lower') | list %}
where not coalesce(_fivetran_deleted, false)
    {%- endif -%}
{%- endif -%}
{%- endmacro %}
