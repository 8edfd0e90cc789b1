{{ config(materialized='ephemeral') }}
-- Each order's items summed: ephemeral, so no relation exists for it; dbt inlines it as a CTE
-- wherever it is referenced.
select
    order_id,
    sum(quantity) as item_count,
    sum(quantity * unit_price) as gross_amount
from {{ ref('stg_order_items') }}
group by order_id
