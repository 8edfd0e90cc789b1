-- Each order's amounts: items, gross, the coupon's discount and the net the customer paid.
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.ordered_at,
    o.updated_at,
    o.status,
    o.channel,
    o.ship_country,
    o.coupon,
    coalesce(c.discount_pct, 0) as discount_pct,
    l.item_count,
    cast(l.gross_amount as decimal(12, 2)) as gross_amount,
    -- Decimal all the way: dividing a decimal by an integer would give a double, and 8.075
    -- would round down.
    cast(round(l.gross_amount * (cast(100 - coalesce(c.discount_pct, 0) as decimal(5, 0)) * 0.01), 2) as decimal(12, 2))
        as net_amount
from {{ ref('stg_orders') }} as o
join {{ ref('int_order_lines') }} as l using (order_id)
left join {{ ref('coupons') }} as c on c.coupon = o.coupon
