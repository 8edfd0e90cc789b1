{#- A snapshot's changes as one MERGE: one Iceberg snapshot that closes the changed rows and adds
    their new versions together (dbt-duckdb sends an UPDATE and an INSERT, two statements in one
    text, which lakeflight refuses to prepare and which would be two commits). dbt-core's default
    is that MERGE. -#}
{% macro lakeflight__snapshot_merge_sql(target, source, insert_cols) -%}
    {{ default__snapshot_merge_sql(target, source, insert_cols) }}
{%- endmacro %}
