{#-- A table model is one CREATE OR REPLACE TABLE … AS: an overwrite snapshot of the same
     Iceberg table, so the previous build stays reachable with AT (VERSION => …) and the name
     never disappears (no __dbt_tmp table, no rename). --#}
{% materialization table, adapter='lakeflight' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% if existing_relation is not none and not existing_relation.is_table %}
    {{ log("Dropping " ~ existing_relation ~ " (a " ~ existing_relation.type ~ ") to build a table in its place") }}
    {% do adapter.drop_relation(existing_relation) %}
  {% endif %}

  {% call statement('main') -%}
    {{ create_table_as(False, target_relation, compiled_code) }}
  {%- endcall %}

  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
