{{ config(materialized='table') }}
-- Silver orders: cancelled ones dropped, customer names upper-cased.
select id, upper(customer) as customer, status, amount, ordered_at
from {{ ref('orders') }}
where status <> 'cancelled'
