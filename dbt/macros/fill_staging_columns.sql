{#- Staging columns that tolerate an older connector or Dagster: after Fivetran's
    fivetran_utils.fill_staging_columns, written here so that the package has no dependency to
    download. `staging_columns` is a list of {"name", "datatype"[, "quote"][, "alias"]}; each is
    selected from the table when `source_columns` (adapter.get_columns_in_relation) has it, else
    NULL of its datatype. -#}
{% macro fill_staging_columns(source_columns, staging_columns) -%}
{%- set source_column_names = source_columns | map(attribute='name') | map('lower') | list -%}
{%- for column in staging_columns %}
    {% if column.name | lower in source_column_names -%}
        {{ dagster.quote_column(column) }}
    {%- else -%}
        cast(null as {{ column.datatype }})
    {%- endif %} as {{ column.alias if 'alias' in column else dagster.quote_column(column) }}
    {%- if not loop.last %},{% endif -%}
{% endfor %}
{%- endmacro %}


{#- A column name, quoted when the spec asks for it (names that are reserved words: timestamp,
    partition, user). Snowflake keeps unquoted names in upper case, as Fivetran lands them. -#}
{% macro quote_column(column) -%}
{%- if column.get('quote') -%}
    {%- if target.type in ('bigquery', 'spark', 'databricks') -%}
        `{{ column.name }}`
    {%- elif target.type == 'snowflake' -%}
        "{{ column.name | upper }}"
    {%- else -%}
        "{{ column.name }}"
    {%- endif -%}
{%- else -%}
    {{ column.name }}
{%- endif -%}
{%- endmacro %}
