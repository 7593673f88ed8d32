ALTER TABLE pgbench_accounts ADD COLUMN email text;
-- Backfill in the same transaction, as many migrations do: the table stays
-- locked (ACCESS EXCLUSIVE, from the ALTER) until the commit, which is
-- what rehearse.lock_max measures.
UPDATE pgbench_accounts SET email = 'account-' || aid || '@example.com';
CREATE INDEX pgbench_accounts_email ON pgbench_accounts (email);
