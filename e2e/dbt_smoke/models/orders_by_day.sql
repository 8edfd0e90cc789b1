{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='ordered_at') }}
-- Per day counts; each run recomputes the latest day it has and any later ones.
select ordered_at, count(*) as orders, sum(amount) as total
from {{ ref('orders') }}
{% if is_incremental() %}
where ordered_at >= (select max(ordered_at) from {{ this }})
{% endif %}
group by ordered_at
