{#-- Incremental models on Iceberg: each strategy is as few snapshots as the SQL allows.

     first build, --full-refresh  one CREATE OR REPLACE TABLE … AS (history kept)
     append                       one INSERT … SELECT straight from the model's SQL
     merge                        one MERGE INTO … USING (the model's SQL)
     delete+insert                the model's SQL staged once in a session temp table, then
                                  one MERGE that deletes the rows whose keys are staged and
                                  inserts the staged rows: one snapshot, so a build cut off
                                  (cancel, crash) never leaves the keys deleted but not
                                  re-inserted. (A DELETE then an INSERT would be two snapshots:
                                  lakeflight has no multi-statement transactions.)

     on_schema_change other than `ignore` stages the rows in a temp table too, so the new
     columns can be compared and added (ALTER TABLE) before the rows go in. --#}
{% materialization incremental, adapter='lakeflight' -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set strategy = config.get('incremental_strategy') or 'append' -%}
  {%- set unique_key = config.get('unique_key') -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- set grant_config = config.get('grants') -%}
  {%- set full_refresh_mode = should_full_refresh() -%}

  {%- if strategy not in adapter.valid_incremental_strategies() -%}
    {% do exceptions.raise_compiler_error("lakeflight: incremental_strategy '" ~ strategy ~ "' is not one of " ~ adapter.valid_incremental_strategies() | join(', ')) %}
  {%- endif -%}
  {%- if strategy in ['merge', 'delete+insert'] and not unique_key -%}
    {% do exceptions.raise_compiler_error("lakeflight: incremental_strategy '" ~ strategy ~ "' needs a unique_key (" ~ this ~ ")") %}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set staged = none -%}
  {% if existing_relation is none or full_refresh_mode or not existing_relation.is_table %}
    {% if existing_relation is not none and not existing_relation.is_table %}
      {% do adapter.drop_relation(existing_relation) %}
    {% endif %}
    {% set build_sql = create_table_as(False, target_relation, compiled_code) %}
  {% else %}
    {% if on_schema_change != 'ignore' or strategy == 'delete+insert' %}
      {% set staged = make_temp_relation(target_relation) %}
      {% call statement('stage') -%}
        {{ create_table_as(True, staged, compiled_code) }}
      {%- endcall %}
    {% endif %}
    {% set dest_columns = none %}
    {% if on_schema_change != 'ignore' %}
      {% set dest_columns = process_schema_changes(on_schema_change, staged, existing_relation) %}
    {% endif %}
    {% if not dest_columns %}
      {% set dest_columns = adapter.get_columns_in_relation(existing_relation) %}
    {% endif %}
    {% set source_sql = staged if staged is not none else '(\n' ~ compiled_code ~ '\n)' %}
    {% set keys = ([unique_key] if unique_key is string else unique_key) if unique_key else [] %}
    {% set predicates = config.get('incremental_predicates') or [] %}
    {% if strategy == 'append' %}
      {% set build_sql = lakeflight__insert_sql(target_relation, source_sql, dest_columns) %}
    {% elif strategy == 'merge' %}
      {% set build_sql = lakeflight__merge_sql(target_relation, source_sql, dest_columns, keys, predicates) %}
    {% else %}
      {% set build_sql = lakeflight__delete_insert_sql(target_relation, staged, dest_columns, keys, predicates) %}
    {% endif %}
  {% endif %}

  {% call statement('main') -%}
    {{ build_sql }}
  {%- endcall %}

  {% if staged is not none %}
    {% call statement('drop_staged') -%}
      drop table if exists {{ staged }}
    {%- endcall %}
  {% endif %}

  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode)) %}
  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}

{% macro lakeflight__key_match(keys) -%}
  {%- for key in keys -%}
    DBT_INTERNAL_SOURCE.{{ key }} = DBT_INTERNAL_DEST.{{ key }}{% if not loop.last %} and {% endif %}
  {%- endfor -%}
{%- endmacro %}

{% macro lakeflight__insert_sql(target, source_sql, dest_columns) -%}
  {%- set cols = dest_columns | map(attribute='quoted') | join(', ') -%}
insert into {{ target }} ({{ cols }})
select {{ cols }} from {{ source_sql }} as DBT_INTERNAL_SOURCE
{%- endmacro %}

{% macro lakeflight__merge_sql(target, source_sql, dest_columns, keys, predicates) -%}
  {%- set update_columns = get_merge_update_columns(config.get('merge_update_columns'), config.get('merge_exclude_columns'), dest_columns) -%}
  {%- set cols = dest_columns | map(attribute='quoted') | list -%}
merge into {{ target }} as DBT_INTERNAL_DEST
using {{ source_sql }} as DBT_INTERNAL_SOURCE
on {{ lakeflight__key_match(keys) }}{% for p in predicates %} and {{ p }}{% endfor %}
{%- if update_columns %}
when matched then update set
  {%- for col in update_columns %} {{ col }} = DBT_INTERNAL_SOURCE.{{ col }}{% if not loop.last %},{% endif %}{% endfor %}
{%- endif %}
when not matched then insert ({{ cols | join(', ') }})
values ({% for col in cols %}DBT_INTERNAL_SOURCE.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#-- delete+insert as one statement. The source is the staged rows twice over: each row
     tagged 'insert', and each distinct key tagged 'delete'. Only 'delete' rows can match
     (the ON clause says so), and a target row matches at most one of them (the keys are
     distinct), so every target row whose key is staged is deleted and every staged row is
     inserted: what DELETE … USING then INSERT do, in one snapshot. incremental_predicates
     narrow the delete, as they narrow dbt's DELETE; they may name DBT_INTERNAL_DEST and the
     key columns of DBT_INTERNAL_SOURCE. --#}
{% macro lakeflight__delete_insert_sql(target, staged, dest_columns, keys, predicates) -%}
  {%- set cols = dest_columns | map(attribute='quoted') | list -%}
merge into {{ target }} as DBT_INTERNAL_DEST
using (
  select 'insert' as dbt_lakeflight_action, * from {{ staged }}
  union all by name
  select distinct 'delete' as dbt_lakeflight_action, {{ keys | join(', ') }} from {{ staged }}
) as DBT_INTERNAL_SOURCE
on DBT_INTERNAL_SOURCE.dbt_lakeflight_action = 'delete' and {{ lakeflight__key_match(keys) }}
{%- for p in predicates %} and {{ p }}{% endfor %}
when matched then delete
when not matched by target and DBT_INTERNAL_SOURCE.dbt_lakeflight_action = 'insert' then insert ({{ cols | join(', ') }})
values ({% for col in cols %}DBT_INTERNAL_SOURCE.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
