{#-- A model's +schema is its Iceberg namespace as written (bronze, silver), not target_schema_custom. --#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
