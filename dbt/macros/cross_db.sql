{#- Cross-database helpers with adapter.dispatch (override them in your project as dbt's
    dispatch config allows). Tested on DuckDB; the other adapters' versions follow each
    warehouse's documented functions. -#}

{#- The type of a time column as Fivetran lands UTC_DATETIME (with time zone). -#}
{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz', 'dagster')()) }}
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}{{ dbt.type_timestamp() }}{%- endmacro %}
{% macro duckdb__type_timestamp_tz() -%}timestamptz{%- endmacro %}
{% macro postgres__type_timestamp_tz() -%}timestamptz{%- endmacro %}
{% macro redshift__type_timestamp_tz() -%}timestamptz{%- endmacro %}
{% macro snowflake__type_timestamp_tz() -%}timestamp_tz{%- endmacro %}


{#- A time column as a UTC timestamp without time zone, so that dates are UTC dates whatever
    the session's time zone. -#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc', 'dagster')(column)) }}
{%- endmacro %}

{% macro default__to_utc(column) -%}{{ column }}{%- endmacro %}
{% macro duckdb__to_utc(column) -%}timezone('UTC', {{ column }}){%- endmacro %}
{% macro postgres__to_utc(column) -%}({{ column }} at time zone 'UTC'){%- endmacro %}
{% macro redshift__to_utc(column) -%}convert_timezone('UTC', {{ column }}){%- endmacro %}
{% macro snowflake__to_utc(column) -%}convert_timezone('UTC', {{ column }})::timestamp_ntz{%- endmacro %}


{#- Seconds (fractional) from `start` to `end`, two UTC timestamps from dagster.to_utc. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'dagster')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    ({{ dbt.datediff(start, end, 'millisecond') }} / 1000.0)
{%- endmacro %}
{% macro duckdb__seconds_between(start, end) -%}(epoch({{ end }}) - epoch({{ start }})){%- endmacro %}
{% macro postgres__seconds_between(start, end) -%}extract(epoch from ({{ end }} - {{ start }})){%- endmacro %}
{% macro snowflake__seconds_between(start, end) -%}
    (datediff('microsecond', {{ start }}, {{ end }}) / 1000000.0)
{%- endmacro %}
{% macro bigquery__seconds_between(start, end) -%}
    (timestamp_diff({{ end }}, {{ start }}, microsecond) / 1000000.0)
{%- endmacro %}


{#- The continuous percentile `fraction` (0.5, 0.95) of `expression` as an aggregate (linear
    interpolation between the two nearest values; NULLs ignored). -#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'dagster')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
{% macro bigquery__percentile(expression, fraction) -%}
    approx_quantiles({{ expression }}, 100)[offset({{ (fraction * 100) | int }})]
{%- endmacro %}


{#- The text value of `key` in the JSON object column `column` (a run's tags: keys hold "/"). -#}
{% macro json_extract_string(column, key) -%}
    {{ return(adapter.dispatch('json_extract_string', 'dagster')(column, key)) }}
{%- endmacro %}

{% macro default__json_extract_string(column, key) -%}
    json_extract_string({{ column }}, '$."{{ key }}"')
{%- endmacro %}
{% macro postgres__json_extract_string(column, key) -%}({{ column }}::json ->> '{{ key }}'){%- endmacro %}
{% macro redshift__json_extract_string(column, key) -%}json_extract_path_text({{ column }}, '{{ key }}'){%- endmacro %}
{% macro snowflake__json_extract_string(column, key) -%}{{ column }}:"{{ key }}"::string{%- endmacro %}
{% macro bigquery__json_extract_string(column, key) -%}json_value({{ column }}, '$."{{ key }}"'){%- endmacro %}


{#- The number of elements of the JSON array column `column` (NULL stays NULL). -#}
{% macro json_array_length(column) -%}
    {{ return(adapter.dispatch('json_array_length', 'dagster')(column)) }}
{%- endmacro %}

{% macro default__json_array_length(column) -%}json_array_length({{ column }}){%- endmacro %}
{% macro postgres__json_array_length(column) -%}json_array_length({{ column }}::json){%- endmacro %}
{% macro snowflake__json_array_length(column) -%}array_size({{ column }}){%- endmacro %}
{% macro bigquery__json_array_length(column) -%}array_length(json_query_array({{ column }})){%- endmacro %}
