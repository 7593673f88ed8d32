#!/bin/sh
# migrate.sh up|down — a tiny migration runner for the migration-rehearsal
# example: `up` applies the NNN_name.up.sql files beside it not yet
# applied, in order; `down` reverts the applied ones, newest first, with
# their .down.sql files. Each migration runs in one transaction and is
# recorded in schema_migrations. It reaches the database through libpq's
# PG* variables, which the restore drill sets to its scratch copy.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
run() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
run -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
case "${1:-}" in
up)
	for f in "$dir"/*.up.sql; do
		v=$(basename "$f" .up.sql)
		if [ -n "$(run -tAc "SELECT 1 FROM schema_migrations WHERE version = '$v'")" ]; then
			continue
		fi
		{ echo "BEGIN;"; cat "$f"; echo "INSERT INTO schema_migrations (version) VALUES ('$v');"; echo "COMMIT;"; } | run
		echo "applied $v"
	done
	;;
down)
	for v in $(run -tAc "SELECT version FROM schema_migrations ORDER BY version DESC"); do
		{ echo "BEGIN;"; cat "$dir/$v.down.sql"; echo "DELETE FROM schema_migrations WHERE version = '$v';"; echo "COMMIT;"; } | run
		echo "reverted $v"
	done
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
