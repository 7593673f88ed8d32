DROP INDEX pgbench_accounts_email;
ALTER TABLE pgbench_accounts DROP COLUMN email;
