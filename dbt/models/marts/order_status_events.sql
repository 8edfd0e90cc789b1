{{ config(materialized='incremental', incremental_strategy='append') }}
-- Every status an order was reported in, once: an append-only event log. Each build appends
-- what bronze received since the last one.
select distinct
    order_id,
    status,
    updated_at as reported_at
from {{ source('bronze', 'orders') }}
{% if is_incremental() %}
where updated_at > (select coalesce(max(reported_at), timestamptz '1900-01-01') from {{ this }})
{% endif %}
