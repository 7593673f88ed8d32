-- pgbench_history has no primary key: give it one (rewrites the table).
ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY;
