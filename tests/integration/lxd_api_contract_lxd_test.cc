// lxd::Api's contract (tests/support/api_contract.h) against lxd::Client and the real LXD: the same
// scenario tests/unit/memory_lxd_test.cc runs against MemoryLxd, which the unit tests of the
// executor, the reconciler and the CRI handlers stand on.
#include <catch2/catch.hpp>

#include "support/api_contract.h"
#include "support/test_lxd.h"

using lxe::test::test_name;

TEST_CASE("lxd::Api contract: lxd::Client on real LXD", "[lxd][contract]") {
  INFO("no LXD socket: set LXE_TEST_LXD_SOCKET or run scripts/setup.sh");
  REQUIRE_FALSE(lxe::test::lxd_socket_path().empty());
  const lxe::lxd::Client client = lxe::test::make_test_lxd_client();
  lxe::test::sweep_stale_test_objects(client);
  lxe::test::LxdCleanup cleanup(client);
  lxe::test::ContractObjects objects;
  objects.instance = cleanup.instance(test_name("contract"));
  objects.profile = cleanup.profile(test_name("contractp"));
  objects.missing = test_name("missing");
  objects.image_alias = "busybox";
  lxe::test::mark(objects.marks);
  lxe::test::check_api_contract(client, objects);
}
