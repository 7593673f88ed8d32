ALTER TABLE pgbench_history DROP COLUMN id;
