#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "store/migrations.h"
#include "support/temp_dir.h"

namespace {

// Everything that defines a schema: tables, indexes, triggers and their SQL, plus user_version.
std::vector<std::string> schema_of(SQLite::Database& db) {
  std::vector<std::string> rows;
  SQLite::Statement st(db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
  while (st.executeStep())
    rows.push_back(st.getColumn(0).getString() + "|" + st.getColumn(1).getString() + "|" +
                   st.getColumn(2).getString() + "|" + st.getColumn(3).getString());
  rows.push_back("user_version|" + std::to_string(db.execAndGet("PRAGMA user_version").getInt()));
  return rows;
}

}  // namespace

TEST_CASE("migrations: numbered 1..N without gaps, named NNNN_description.sql", "[migrations]") {
  const auto& migrations = lxe::store::embedded_migrations();
  REQUIRE_FALSE(migrations.empty());
  const std::regex name_pattern("[0-9]{4}_[a-z0-9_]+\\.sql");
  for (size_t i = 0; i < migrations.size(); ++i) {
    CHECK(migrations[i].version == static_cast<int>(i) + 1);
    CHECK(std::regex_match(std::string(migrations[i].name), name_pattern));
  }
  CHECK(lxe::store::latest_schema_version() == static_cast<int>(migrations.size()));
  // The build embeds every file under migrations/.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LXE_SOURCE_DIR "/migrations"))
    files += entry.path().extension() == ".sql";
  CHECK(files == migrations.size());
}

TEST_CASE("migrations: applying all of them gives exactly schema/schema.sql", "[migrations]") {
  SQLite::Database migrated(":memory:", SQLite::OPEN_READWRITE);
  lxe::store::migrate(migrated, ":memory:");

  SQLite::Database from_schema(":memory:", SQLite::OPEN_READWRITE);
  from_schema.exec(lxe::test::read_file(LXE_SOURCE_DIR "/schema/schema.sql"));

  const auto expected = schema_of(from_schema);
  const auto actual = schema_of(migrated);
  CHECK(actual == expected);
}

TEST_CASE("migrations: migrating twice is a no-op", "[migrations]") {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  lxe::store::migrate(db, ":memory:");
  const auto once = schema_of(db);
  lxe::store::migrate(db, ":memory:");
  CHECK(schema_of(db) == once);
}

TEST_CASE("migrations: 0002 gives failures stored by schema version 1 their kind", "[migrations]") {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  const auto& first = lxe::store::embedded_migrations().at(0);
  db.exec(std::string(first.sql));
  db.exec("PRAGMA user_version = 1");
  auto sandbox = [&](const std::string& id, const std::string& error) {
    SQLite::Statement st(db,
                         "INSERT INTO pod_sandboxes (id, name, namespace, uid, attempt, lxd_name, config_json, "
                         "created_at, desired_state, last_error, updated_at) "
                         "VALUES (?, ?, 'ns', 'uid', 0, ?, '{}', 1, 'ready', ?, 1)");
    st.bind(1, id);
    st.bind(2, id);
    st.bind(3, "lxe-" + id);
    st.bind(4, error);
    st.exec();
  };
  sandbox("none", "");
  sandbox("down", "create-profile: LXD unavailable: connection refused");
  sandbox("busy", "start-instance: Instance is busy running a \"stop\" operation");
  sandbox("no", "create-profile: Profile name is invalid");
  SQLite::Statement container(db,
                              "INSERT INTO containers (id, sandbox_id, name, attempt, lxd_name, image, config_json, "
                              "created_at, desired_state, last_error, updated_at) "
                              "VALUES ('c', 'none', 'c', 0, 'lxe-c', 'busybox', '{}', 1, 'created', "
                              "'observe: LXD unavailable: timeout', 1)");
  container.exec();

  lxe::store::migrate(db, ":memory:");
  auto kind_of = [&](const std::string& table, const std::string& id) {
    SQLite::Statement st(db, "SELECT last_error_kind FROM " + table + " WHERE id = ?");
    st.bind(1, id);
    REQUIRE(st.executeStep());
    return st.getColumn(0).getString();
  };
  CHECK(kind_of("pod_sandboxes", "none").empty());
  CHECK(kind_of("pod_sandboxes", "down") == "unavailable");
  CHECK(kind_of("pod_sandboxes", "busy") == "busy");
  CHECK(kind_of("pod_sandboxes", "no") == "refused");
  CHECK(kind_of("containers", "c") == "unavailable");
  // The schema refuses kinds it does not know.
  CHECK_THROWS(db.exec("UPDATE containers SET last_error_kind = 'weird' WHERE id = 'c'"));
}
