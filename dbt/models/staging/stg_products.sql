-- One row per product: its latest price and state.
with ranked as (
    select
        *,
        row_number() over (partition by product_id order by updated_at desc) as recency
    from {{ source('bronze', 'products') }}
)

select
    product_id,
    sku,
    product_name,
    category,
    cast(list_price as decimal(10, 2)) as list_price,
    active,
    updated_at
from ranked
where recency = 1
