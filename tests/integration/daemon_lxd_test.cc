// The daemon against the real LXD: Version and Status over its CRI socket, with the project's own
// generated gRPC client.
#include <catch2/catch.hpp>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_lxd.h"

TEST_CASE("lxe on real LXD: Version names the runtime and the CRI API", "[daemon][lxd]") {
  lxe::test::TempDir dir;
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", lxe::test::lxd_socket_path()});
  auto ctx = lxe::test::context_with_deadline();
  runtime::v1::VersionRequest request;
  request.set_version("v1");
  runtime::v1::VersionResponse response;
  REQUIRE(lxe.runtime().Version(ctx.get(), request, &response).ok());
  CHECK(response.runtime_name() == "lxe");
  CHECK(response.runtime_api_version() == "v1");
  CHECK(response.version() == "0.1.0");
  CHECK_FALSE(response.runtime_version().empty());
}

TEST_CASE("lxe on real LXD: Status says RuntimeReady and NetworkReady", "[daemon][lxd]") {
  lxe::test::TempDir dir;
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", lxe::test::lxd_socket_path()});
  auto ctx = lxe::test::context_with_deadline();
  runtime::v1::StatusRequest request;
  request.set_verbose(true);
  runtime::v1::StatusResponse response;
  REQUIRE(lxe.runtime().Status(ctx.get(), request, &response).ok());
  int ready = 0;
  for (const auto& c : response.status().conditions()) {
    INFO(c.type() << ": " << c.reason() << " " << c.message());
    CHECK(c.status());
    ready += (c.type() == "RuntimeReady" || c.type() == "NetworkReady");
  }
  CHECK(ready == 2);
  REQUIRE(response.info().count("lxe") == 1);
  CHECK_THAT(response.info().at("lxe"), Catch::Contains("\"reachable\":true"));
}
