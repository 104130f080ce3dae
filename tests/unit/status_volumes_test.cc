// CRI Status (verbose) says how host-path volumes reach containers: idmapped staged mounts, or
// LXD's plain disk devices and why, or that lxe has not decided yet (it asks LXD for its PID, and
// Status never waits on LXD).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/in_process_runtime.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace v1 = runtime::v1;

namespace {

nlohmann::json volumes_info(const v1::StatusResponse& response) {
  REQUIRE(response.info().count("lxe") == 1);
  const auto info = nlohmann::json::parse(response.info().at("lxe"));
  REQUIRE(info.contains("volumes"));
  return info.at("volumes");
}

}  // namespace

TEST_CASE("Status: volumes not decided while LXD has not answered", "[daemon][volumes]") {
  lxe::test::TempDir dir;
  lxe::test::make_dead_socket(dir.file("lxd.sock"));
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", dir.file("lxd.sock")});
  auto ctx = lxe::test::context_with_deadline();
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse response;
  REQUIRE(lxe.runtime().Status(ctx.get(), request, &response).ok());
  const auto volumes = volumes_info(response);
  CHECK(volumes.at("idmappedMounts").is_null());
  CHECK_THAT(volumes.at("message").get<std::string>(), Catch::Contains("not decided"));
}

TEST_CASE("Status: volumes without idmapped mounts say why, and what that means", "[daemon][volumes]") {
  lxe::test::InProcessRuntime rt;
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse before;
  REQUIRE(rt.service.Status(nullptr, &request, &before).ok());
  CHECK(volumes_info(before).at("idmappedMounts").is_null());

  REQUIRE_FALSE(rt.volumes.support().idmapped);
  v1::StatusResponse after;
  REQUIRE(rt.service.Status(nullptr, &request, &after).ok());
  const auto volumes = volumes_info(after);
  CHECK(volumes.at("idmappedMounts") == false);
  CHECK_THAT(volumes.at("message").get<std::string>(),
             Catch::Contains("a test without idmapped mounts") && Catch::Contains("nobody"));

  // Not verbose: no info at all, as before.
  v1::StatusResponse terse;
  request.set_verbose(false);
  REQUIRE(rt.service.Status(nullptr, &request, &terse).ok());
  CHECK(terse.info().empty());
}
