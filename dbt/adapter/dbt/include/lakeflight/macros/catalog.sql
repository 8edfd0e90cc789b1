{#-- The catalog `dbt docs generate` writes: columns from duckdb_columns() as dbt-duckdb
     reads them, table types from lakeflight's GetTables (adapter.catalog_table_types),
     because DuckDB's catalog functions see every Iceberg table as a view. --#}
{% macro lakeflight__get_catalog(information_schema, schemas) -%}
  {% set query %}
    with tables as (
      {{ lakeflight__get_catalog_tables_sql(information_schema, schemas) }}
      {{ duckdb__get_catalog_schemas_where_clause_sql(schemas) }}
    ),
    columns as (
      {{ duckdb__get_catalog_columns_sql(information_schema) }}
      {{ duckdb__get_catalog_schemas_where_clause_sql(schemas) }}
    )
    {{ duckdb__get_catalog_results_sql() }}
  {% endset %}
  {{ return(run_query(query)) }}
{%- endmacro %}

{% macro lakeflight__get_catalog_relations(information_schema, relations) -%}
  {% set schemas = relations | map(attribute='schema') | list %}
  {% set query %}
    with tables as (
      {{ lakeflight__get_catalog_tables_sql(information_schema, schemas) }}
      {{ duckdb__get_catalog_relations_where_clause_sql(relations) }}
    ),
    columns as (
      {{ duckdb__get_catalog_columns_sql(information_schema) }}
      {{ duckdb__get_catalog_relations_where_clause_sql(relations) }}
    )
    {{ duckdb__get_catalog_results_sql() }}
  {% endset %}
  {{ return(run_query(query)) }}
{%- endmacro %}

{% macro lakeflight__get_catalog_tables_sql(information_schema, schemas) -%}
  {%- set found = adapter.catalog_table_types(information_schema.database, schemas) -%}
  {%- set database = information_schema.database | replace("'", "''") -%}
    select *
    from (
  {%- if found | length == 0 %}
        select null::varchar as table_database, null::varchar as table_schema,
          null::varchar as table_name, null::varchar as table_type, null::varchar as table_comment
        where false
  {%- else %}
        select * from (values
    {%- for schema, name, kind in found %}
          ('{{ database }}', '{{ schema | replace("'", "''") }}', '{{ name | replace("'", "''") }}', '{{ kind }}', null::varchar){% if not loop.last %},{% endif %}
    {%- endfor %}
        ) t(table_database, table_schema, table_name, table_type, table_comment)
  {%- endif %}
    ) catalog_tables
{%- endmacro %}
