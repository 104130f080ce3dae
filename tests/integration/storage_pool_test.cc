// --storage-pool on the real LXD: every instance lxe makes (holders and containers) gets a root
// disk of its own on the pool, works there, and leaves nothing on it when removed; a pool LXD does
// not have stops lxe at start-up. Uses the copy-on-write pool scripts/setup.sh makes
// (LXE_TEST_STORAGE_POOL, default "lxe"); skipped, saying so, where there is none.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "support/cri_fixture.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

namespace cri = ::runtime::v1;

namespace {

std::string test_pool() {
  const char* env = std::getenv("LXE_TEST_STORAGE_POOL");
  return env && *env ? env : "lxe";
}

bool pool_exists(const std::string& pool) {
  return lxe::test::lxc_command({"storage", "show", pool}).exit_code == 0;
}

}  // namespace

TEST_CASE("storage pool: holders and containers go on --storage-pool and leave nothing there", "[lxd][storage]") {
  const std::string pool = test_pool();
  if (!pool_exists(pool)) {
    WARN("no LXD storage pool '" << pool << "' (scripts/setup.sh makes it): --storage-pool not tested");
    return;
  }
  lxe::test::CriFixture fx("pool", {"--storage-pool", pool});
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string id = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}, "c.log"), pod);
  const auto instances = fx.lxd_instances();
  REQUIRE(instances.size() == 2);  // the holder and the container
  for (const auto& name : instances) {
    const auto instance = fx.lxd().get_instance(name);
    INFO(name);
    REQUIRE(instance.devices.count("root") == 1);
    CHECK(instance.devices.at("root").at("pool") == pool);
    CHECK(instance.devices.at("root").at("path") == "/");
  }
  const auto r = fx.exec(id, {"sh", "-c", "echo written > /tmp/f && cat /tmp/f"}, 20);
  REQUIRE(r.ok());
  CHECK(r.value.stdout() == "written\n");
  fx.remove_all_pods_and_expect_clean();
  // No volume of lxe's instances is left on the pool.
  const auto volumes = lxe::test::lxc_command({"storage", "volume", "list", pool, "--format", "csv"});
  for (const auto& name : instances) CHECK(volumes.out.find(name) == std::string::npos);
}

TEST_CASE("storage pool: a pool LXD does not have stops lxe at start-up, naming it", "[lxd][storage][daemon]") {
  lxe::test::TempDir dir;
  const auto r = lxe::test::run_command({LXE_BINARY, "--socket", dir.file("lxe.sock"), "--db", dir.file("lxe.db"),
                                         "--lxd-socket", lxe::test::lxd_socket_path(), "--storage-pool",
                                         "lxet-no-such-pool"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("LXD has no storage pool 'lxet-no-such-pool'"));
  CHECK_FALSE(std::filesystem::exists(dir.file("lxe.sock")));
}
