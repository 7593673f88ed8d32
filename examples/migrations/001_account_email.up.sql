ALTER TABLE pgbench_accounts ADD COLUMN email text;
CREATE INDEX pgbench_accounts_email ON pgbench_accounts (email);
