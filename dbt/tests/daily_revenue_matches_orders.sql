-- The daily totals add up to the orders that count as revenue: a day whose total differs
-- from its orders' net amounts is returned.
with from_orders as (
    select order_date, sum(net_amount) as revenue
    from {{ ref('fct_orders') }}
    where counts_as_revenue
    group by order_date
)

select d.order_date, d.revenue, o.revenue as from_orders
from {{ ref('daily_revenue') }} as d
left join from_orders as o using (order_date)
where d.revenue <> coalesce(o.revenue, 0)
