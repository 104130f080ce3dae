#include "store/migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

#include "store/error.h"

namespace lxe::store {

int latest_schema_version() {
  const auto& all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

int read_schema_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

void migrate(SQLite::Database& db, const std::string& path_for_messages) {
  const int current = read_schema_version(db);
  const int latest = latest_schema_version();
  if (current > latest) {
    throw StoreError(StoreError::Kind::NewerSchema,
                     "store " + path_for_messages + " has schema version " + std::to_string(current) +
                         " but this lxe only knows versions up to " + std::to_string(latest) +
                         ": it was written by a newer lxe; upgrade lxe (the database was not changed)");
  }
  for (const auto& migration : embedded_migrations()) {
    if (migration.version <= current) continue;
    try {
      SQLite::Transaction txn(db);
      db.exec(std::string(migration.sql));
      // PRAGMA takes no bound parameters; the version is our own integer.
      db.exec("PRAGMA user_version = " + std::to_string(migration.version));
      txn.commit();
    } catch (const SQLite::Exception& e) {
      throw StoreError(StoreError::Kind::Sql, "store " + path_for_messages + ": migration " +
                                                  std::string(migration.name) + " failed: " + e.what());
    }
  }
}

}  // namespace lxe::store
