-- One row per order in its latest status; the shipping address flattened.
with ranked as (
    select
        *,
        row_number() over (partition by order_id order by updated_at desc) as recency
    from {{ source('bronze', 'orders') }}
)

select
    order_id,
    customer_id,
    ordered_at,
    cast(ordered_at as date) as order_date,
    updated_at,
    status,
    channel,
    ship_to.city as ship_city,
    ship_to.country as ship_country,
    nullif(upper(trim(coupon)), '') as coupon
from ranked
where recency = 1
