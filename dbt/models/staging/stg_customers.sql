-- One row per customer: the latest record sent, with the e-mail and country cleaned.
with ranked as (
    select
        *,
        row_number() over (partition by customer_id order by updated_at desc) as recency
    from {{ source('bronze', 'customers') }}
)

select
    customer_id,
    nullif(lower(trim(email)), '') as email,
    trim(full_name) as full_name,
    {{ country_code('country') }} as country_code,
    signed_up_on,
    updated_at
from ranked
where recency = 1
