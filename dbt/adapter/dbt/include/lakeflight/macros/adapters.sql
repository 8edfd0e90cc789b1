{#-- Statements lakeflight runs differently from a DuckDB file. Everything not here comes
     from dbt-duckdb (duckdb__*) or dbt-core (default__*). --#}

{% macro lakeflight__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
  {%- if language != 'sql' -%}
    {% do exceptions.raise_compiler_error("lakeflight runs SQL models only; " ~ relation ~ " is a " ~ language ~ " model") %}
  {%- endif -%}
  {%- if partitioned_by or sorted_by -%}
    {% do exceptions.raise_compiler_error("partitioned_by/sorted_by are not supported by lakeflight yet (" ~ relation ~ ")") %}
  {%- endif -%}
  {%- set contract_config = config.get('contract') -%}
  {%- if contract_config.enforced -%}
    {{ get_assert_columns_equivalent(compiled_code) }}
  {%- endif -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {%- if sql_header is not none -%}
    {% do run_query(sql_header) %}
  {%- endif -%}
  {%- if temporary %}
create temporary table {{ relation.include(database=False, schema=False) }} as (
{{ compiled_code }}
)
  {%- else %}
{#-- One overwrite snapshot of the same Iceberg table: history, tags and time travel stay. --#}
create or replace table {{ relation }} as (
{{ compiled_code }}
)
  {%- endif %}
{%- endmacro %}

{% macro lakeflight__create_view_as(relation, sql) -%}
  {%- set contract_config = config.get('contract') -%}
  {%- if contract_config.enforced -%}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif -%}
create or replace view {{ relation }} as (
{{ sql }}
)
{%- endmacro %}

{% macro lakeflight__drop_relation(relation) -%}
  {% call statement('drop_relation', auto_begin=False) -%}
    drop {{ 'view' if relation.is_view else 'table' }} if exists {{ relation }}
  {%- endcall %}
{% endmacro %}

{#-- TRUNCATE is not a statement lakeflight runs on Iceberg tables; a DELETE without a
     filter is one snapshot that removes every row. --#}
{% macro lakeflight__truncate_relation(relation) -%}
  {% call statement('truncate_relation') -%}
    delete from {{ relation }}
  {%- endcall %}
{% endmacro %}
