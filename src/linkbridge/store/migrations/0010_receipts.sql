-- When a row was last received (new or re-sent), so the client's rate, the repeat window and
-- the host's daily cap can be counted in the transaction that accepts a linkback.
ALTER TABLE linkbacks ADD COLUMN received_at TEXT;
CREATE INDEX linkbacks_client ON linkbacks (client_ip, protocol, received_at);
CREATE INDEX linkbacks_host_created ON linkbacks (source_host, created_at);
