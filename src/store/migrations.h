// Schema migrations: numbered SQL files under migrations/, compiled in, applied in order.
// PRAGMA user_version holds the number of the last migration applied.
#pragma once

#include <string_view>
#include <vector>

namespace SQLite {
class Database;
}

namespace lxe::store {

struct Migration {
  int version;            // 1, 2, 3... from the file name
  std::string_view name;  // the file name, e.g. 0001_initial.sql
  std::string_view sql;
};

// All migrations, in version order (generated from migrations/).
const std::vector<Migration>& embedded_migrations();

// The schema version this build writes: the last migration's number.
int latest_schema_version();

int read_schema_version(SQLite::Database& db);

// Brings `db` to latest_schema_version(), each migration in its own transaction together with
// its user_version bump. Throws StoreError{NewerSchema} without touching the database when it
// already has a higher version than this build knows.
void migrate(SQLite::Database& db, const std::string& path_for_messages);

}  // namespace lxe::store
