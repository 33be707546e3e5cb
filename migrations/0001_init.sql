-- 0001: the catalog, stock, orders, idempotency keys and the append-only change log.
-- Identifiers use the "C" collation so that listing order is byte order, as the API promises.

CREATE TABLE products (
  id           text COLLATE "C" PRIMARY KEY,
  name         text NOT NULL,
  description  text,
  brand        text,
  category     text NOT NULL,
  price_amount bigint NOT NULL CHECK (price_amount >= 0),
  currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  attributes   jsonb NOT NULL DEFAULT '{}',
  -- The variants as the client sent them (ordered); the skus are also rows of inventory.
  variants     jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
  version      bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Whole-word, case-insensitive search: the 'simple' configuration lower-cases and does not stem.
-- An expression index rather than a stored column keeps rows (and their WAL) small; queries must use
-- exactly this expression (catalog_search_text) to use it.
CREATE FUNCTION catalog_search_text(name text, description text, brand text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_tsvector('simple'::regconfig, name || ' ' || coalesce(description, '') || ' ' || coalesce(brand, ''));
CREATE INDEX products_search ON products USING gin (catalog_search_text(name, description, brand));
CREATE INDEX products_status_id ON products (status, id);

CREATE TABLE inventory (
  sku        text COLLATE "C" PRIMARY KEY,
  product_id text COLLATE "C" NOT NULL REFERENCES products (id),
  on_hand    bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved   bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  version    bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The last line of defence for "stock never goes below zero".
  CONSTRAINT stock_covers_reservations CHECK (reserved <= on_hand)
);

CREATE TABLE orders (
  id           text COLLATE "C" PRIMARY KEY,
  customer_id  text NOT NULL,
  status       text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
  lines        jsonb NOT NULL,
  total_amount bigint NOT NULL,
  currency     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer ON orders (customer_id);

-- One row per (token, key). Written in the same transaction as the write it guards, so a
-- committed write always has its answer stored and a failed one leaves no record.
CREATE TABLE idempotency_keys (
  scope       text NOT NULL,   -- SHA-256 of the bearer token; the token itself is never stored
  key         text NOT NULL,
  fingerprint text NOT NULL,   -- SHA-256 of method, path and canonical body
  status      integer NOT NULL,
  headers     jsonb NOT NULL,
  body        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);

-- Every write appends here in its own transaction: what changed, before and after, who asked and
-- which deployment did it. Recovery from a bad deployment replays it.
CREATE TABLE change_log (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  txid            bigint NOT NULL DEFAULT txid_current(),
  entity          text NOT NULL,
  entity_id       text NOT NULL,
  action          text NOT NULL,
  old_value       jsonb,
  new_value       jsonb,
  request_id      text NOT NULL,
  write_id        text NOT NULL,  -- unique per attempt: settles a commit whose outcome was unknown
  deploy_id       text NOT NULL,
  idempotency_key text
);
CREATE INDEX change_log_write_id ON change_log (write_id);
CREATE INDEX change_log_at ON change_log (at);

CREATE FUNCTION change_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'change_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER change_log_no_update BEFORE UPDATE OR DELETE ON change_log
  FOR EACH ROW EXECUTE FUNCTION change_log_is_append_only();
CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
  FOR EACH STATEMENT EXECUTE FUNCTION change_log_is_append_only();
