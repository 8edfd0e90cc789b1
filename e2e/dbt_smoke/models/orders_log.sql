{{ config(materialized='incremental', incremental_strategy='append') }}
-- Every order once: each run appends only the ids it has not seen.
select id, customer, amount
from {{ ref('orders') }}
{% if is_incremental() %}
where id > (select coalesce(max(id), 0) from {{ this }})
{% endif %}
