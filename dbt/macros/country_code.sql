{#- ISO code of a country however the exports spell it: 'DE', 'de' or 'Germany'. -#}
{% macro country_code(column) -%}
    case upper(trim({{ column }}))
        {%- for name, code in [('GERMANY', 'DE'), ('FRANCE', 'FR'), ('NETHERLANDS', 'NL'), ('SPAIN', 'ES'),
                               ('ITALY', 'IT'), ('POLAND', 'PL'), ('SWEDEN', 'SE')] %}
        when '{{ name }}' then '{{ code }}'
        {%- endfor %}
        else upper(trim({{ column }}))
    end
{%- endmacro %}
