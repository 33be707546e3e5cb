-- 0002: the publication that catalogd's in-memory copy follows by logical decoding (pgoutput).
-- Only the tables that reads are answered from; orders, keys and the change log stay out.
CREATE PUBLICATION techmoda_copy FOR TABLE products, inventory;
