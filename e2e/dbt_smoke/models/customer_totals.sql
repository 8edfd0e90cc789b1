{{ config(materialized='incremental', incremental_strategy='merge', unique_key='customer') }}
-- Per customer totals, upserted by MERGE.
select customer, count(*) as orders, sum(amount) as total
from {{ ref('stg_orders') }}
group by customer
