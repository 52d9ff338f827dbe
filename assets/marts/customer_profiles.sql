-- One row per hashed email: when we first saw the person, their orders, and where we saw them.
-- The `seen` block is filled in at run time: one `select <hashed email>, <source>` per enabled
-- source that declares a hashed email column whose table has landed with it as text.
-- The contacts and orders tables are crm_contacts.contacts and webshop_orders.orders, or an
-- empty stand-in with the same columns while one has not landed with the columns used here.
-- Portable SQL: it runs unchanged on DuckDB and PostgreSQL.
create table marts.customer_profiles as
with seen as (
    {email_sources}
),
contacts as (
    select email as email_hash, min(created_at) as first_contact_at
    from {contacts_table}
    where email is not null
    group by email
),
orders as (
    select
        customer_email as email_hash,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        coalesce(sum(total_amount) filter (where status in ('paid', 'shipped')), 0) as revenue
    from {orders_table}
    where customer_email is not null
    group by customer_email
)
select
    seen.email_hash,
    least(contacts.first_contact_at, orders.first_order_at) as first_seen_at,
    orders.last_order_at,
    coalesce(orders.order_count, 0) as order_count,
    cast(round(cast(coalesce(orders.revenue, 0) as numeric), 2) as double precision) as revenue,
    array_agg(distinct seen.source order by seen.source) as sources_seen
from seen
left join contacts on contacts.email_hash = seen.email_hash
left join orders on orders.email_hash = seen.email_hash
group by seen.email_hash, contacts.first_contact_at, orders.first_order_at, orders.last_order_at,
    orders.order_count, orders.revenue
order by seen.email_hash
