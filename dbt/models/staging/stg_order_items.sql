-- The line items of each order's latest version, one row each, prices as decimals.
with latest as (
    select
        order_id,
        items,
        row_number() over (partition by order_id order by updated_at desc) as recency
    from {{ source('bronze', 'orders') }}
),

lines as (
    select order_id, unnest(items) as line
    from latest
    where recency = 1
)

select
    order_id,
    row_number() over (partition by order_id order by line.product_id, line.quantity) as line_number,
    line.product_id as product_id,
    cast(line.quantity as integer) as quantity,
    cast(line.unit_price as decimal(10, 2)) as unit_price
from lines
