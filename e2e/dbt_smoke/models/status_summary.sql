{{ config(materialized='view') }}
-- A persistent view: per status counts and totals over the staged orders, always current.
select status, count(*) as orders, sum(amount) as total
from {{ ref('stg_orders') }}
group by status
