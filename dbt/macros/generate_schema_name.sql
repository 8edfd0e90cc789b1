{#- Layers name their namespace (silver, gold) as it is, not prefixed with the target's schema
    as dbt does by default: the lakehouse's namespaces are the medallion layers. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
