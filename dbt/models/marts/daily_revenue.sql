{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date') }}
-- Revenue per day from orders that still count (not cancelled or returned). Incremental by
-- delete+insert: the days holding an order that changed since the last build are rebuilt.
with changed_days as (
    select distinct order_date
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where updated_at > (select coalesce(max(last_change), timestamptz '1900-01-01') from {{ this }})
    {% endif %}
)

select
    f.order_date,
    count(*) filter (where f.counts_as_revenue) as orders,
    cast(coalesce(sum(f.net_amount) filter (where f.counts_as_revenue), 0) as decimal(14, 2)) as revenue,
    count(*) filter (where not f.counts_as_revenue) as lost_orders,
    max(f.updated_at) as last_change
from {{ ref('fct_orders') }} as f
join changed_days using (order_date)
group by f.order_date
