{{ config(materialized='incremental', incremental_strategy='merge', unique_key='order_id') }}
-- Every order with its amounts and latest status. Incremental by merge: orders whose status
-- moved on since the last build are updated in place, new ones inserted.
select
    order_id,
    customer_id,
    order_date,
    ordered_at,
    updated_at,
    status,
    channel,
    ship_country,
    coupon,
    discount_pct,
    item_count,
    gross_amount,
    net_amount,
    status not in ('cancelled', 'returned') as counts_as_revenue
from {{ ref('int_order_amounts') }}
{% if is_incremental() %}
where updated_at > (select coalesce(max(updated_at), timestamptz '1900-01-01') from {{ this }})
{% endif %}
