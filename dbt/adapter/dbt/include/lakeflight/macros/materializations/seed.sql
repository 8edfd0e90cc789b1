{#-- A seed is one bulk ingest (Flight SQL CommandStatementIngest, mode replace): the first
     load creates the table, every later one replaces its rows in one overwrite snapshot
     (dbt's truncate + insert batches would be many). The column types are dbt's:
     column_types from the config, otherwise the type agate inferred. --#}
{% macro lakeflight__seed_columns(model, agate_table) -%}
  {%- set overrides = model['config'].get('column_types', {}) -%}
  {%- set columns = [] -%}
  {%- for name in agate_table.column_names -%}
    {%- do columns.append([name | string, overrides.get(name, adapter.convert_type(agate_table, loop.index0))]) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}

{% macro lakeflight__create_csv_table(model, agate_table) %}
  {%- set rows = adapter.load_seed(this, agate_table, lakeflight__seed_columns(model, agate_table)) -%}
  {{ return('-- bulk ingest of ' ~ rows ~ ' rows into ' ~ this ~ ' (created)') }}
{% endmacro %}

{% macro lakeflight__reset_csv_table(model, full_refresh, old_relation, agate_table) %}
  {%- set rows = adapter.load_seed(this, agate_table, lakeflight__seed_columns(model, agate_table)) -%}
  {{ return('-- bulk ingest of ' ~ rows ~ ' rows into ' ~ this ~ ' (replaced)') }}
{% endmacro %}

{#-- The rows went in with the table above. --#}
{% macro lakeflight__load_csv_rows(model, agate_table) %}
  {{ return('') }}
{% endmacro %}
