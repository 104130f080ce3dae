#!/usr/bin/env bash
# Regenerates schema/schema.sql from migrations/: applies them in order to an empty database and
# writes out the resulting schema. Run it after adding a migration.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
db=$(mktemp -u /tmp/lxe-schema-XXXXXX.db)
trap 'rm -f "$db"' EXIT
version=0
for file in "$repo"/migrations/*.sql; do
  sqlite3 "$db" < "$file"
  version=$((10#$(basename "$file" | cut -d_ -f1)))
done
{
  echo "-- The current lxe store schema, for readers: the result of applying every file under migrations/"
  echo "-- in order (a unit test checks that the two agree). Regenerate with scripts/dump-schema.sh."
  echo
  # sqlite_sequence is made by SQLite itself for AUTOINCREMENT and cannot be created by hand.
  sqlite3 "$db" .schema | grep -v "^CREATE TABLE sqlite_sequence"
  echo
  echo "PRAGMA user_version = $version;"
} > "$repo/schema/schema.sql"
echo "schema/schema.sql written (schema version $version)"
