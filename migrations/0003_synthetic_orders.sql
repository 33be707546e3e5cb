-- 0003: orders placed by the canary (`catalogctl canary`) are marked synthetic, so that business
-- figures (catalogd_orders_created_total{kind="customer"}, reports) leave them out.
ALTER TABLE orders ADD COLUMN synthetic boolean NOT NULL DEFAULT false;
