-- Customers with what they bought: the dimension a dashboard filters by.
select
    c.customer_id,
    c.email,
    c.full_name,
    c.country_code,
    c.signed_up_on,
    count(f.order_id) filter (where f.counts_as_revenue) as orders,
    cast(coalesce(sum(f.net_amount) filter (where f.counts_as_revenue), 0) as decimal(14, 2)) as lifetime_value,
    min(f.order_date) as first_order_on,
    max(f.order_date) as last_order_on
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders') }} as f using (customer_id)
group by all
