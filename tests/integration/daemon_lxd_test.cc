// The daemon against the real LXD: Version and Status over its CRI socket, with the project's own
// generated gRPC client.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

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
    // ReconcilerReady is false only while adoption runs, which takes a moment with an empty store.
    if (c.type() == "ReconcilerReady" && !c.status()) CHECK(c.reason() == "AdoptionInProgress");
    else CHECK(c.status());
    ready += (c.type() == "RuntimeReady" || c.type() == "NetworkReady" || c.type() == "ReconcilerReady");
  }
  CHECK(ready == 3);
  CHECK_THAT(response.info().at("lxe"), Catch::Contains("\"reconciler\":{"));
  REQUIRE(response.info().count("lxe") == 1);
  CHECK_THAT(response.info().at("lxe"), Catch::Contains("\"reachable\":true"));
}

namespace {

// The port lxe logged for --metrics-port 0 ("metrics on http://127.0.0.1:<port>/metrics").
int logged_metrics_port(const lxe::test::DaemonProcess& lxe) {
  std::smatch m;
  const std::string log = lxe.stderr_text();
  if (!std::regex_search(log, m, std::regex(R"(metrics on http://127\.0\.0\.1:([0-9]+)/metrics)"))) return 0;
  return std::stoi(m[1]);
}

std::string scrape(int port) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10, 0);
  const auto res = http.Get("/metrics");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return res->body;
}

}  // namespace

TEST_CASE("lxe on real LXD: /metrics passes promtool and its counters move with CRI calls", "[daemon][lxd][metrics]") {
  lxe::test::TempDir dir;
  lxe::test::DaemonProcess lxe(dir, {"--lxd-socket", lxe::test::lxd_socket_path(), "--metrics-port", "0"});
  const int port = logged_metrics_port(lxe);
  INFO(lxe.stderr_text());
  REQUIRE(port > 0);

  const std::string before = scrape(port);
  CHECK_THAT(before, Catch::Contains("lxe_build_info{version=\"0.1.0\"} 1"));
  // Adoption and the health check asked LXD already.
  CHECK_THAT(before, Catch::Contains("lxe_lxd_requests_total{code=\"200\",endpoint=\"/1.0\",method=\"GET\"}"));

  for (int i = 0; i < 3; ++i) {
    auto ctx = lxe::test::context_with_deadline();
    runtime::v1::VersionResponse version;
    REQUIRE(lxe.runtime().Version(ctx.get(), runtime::v1::VersionRequest{}, &version).ok());
  }
  {
    auto ctx = lxe::test::context_with_deadline();
    runtime::v1::ContainerStatusRequest request;
    request.set_container_id("0123456789ab-not-there");
    runtime::v1::ContainerStatusResponse response;
    CHECK(lxe.runtime().ContainerStatus(ctx.get(), request, &response).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  const std::string after = scrape(port);
  // The readiness wait made one Version call before the scrape above; three more came since.
  std::smatch m;
  REQUIRE(std::regex_search(after, m, std::regex(R"(lxe_cri_requests_total\{code="OK",method="Version"\} ([0-9]+))")));
  CHECK(std::stoi(m[1]) >= 4);
  CHECK_THAT(after, Catch::Contains("lxe_cri_requests_total{code=\"NOT_FOUND\",method=\"ContainerStatus\"} 1"));
  CHECK_THAT(after, Catch::Contains("lxe_cri_request_duration_seconds_count{method=\"ContainerStatus\"} 1"));
  CHECK_THAT(after, Catch::Contains("lxe_reconcile_queue_depth 0"));
  CHECK_THAT(after, Catch::Contains("lxe_adopted 1") || Catch::Contains("lxe_adopted 0"));

  // promtool (Debian's prometheus package; scripts/setup.sh installs it) lints the exposition.
  const std::string file = dir.file("metrics.txt");
  std::ofstream(file) << after;
  const std::string command = "promtool check metrics < " + file + " > " + dir.file("promtool.out") + " 2>&1";
  const int rc = std::system(command.c_str());
  std::ifstream out(dir.file("promtool.out"));
  const std::string said((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  INFO("promtool: " << said);
  CHECK(rc == 0);
}

TEST_CASE("lxe on real LXD: a metrics port that is taken stops the start with a clear error", "[daemon][lxd][metrics]") {
  lxe::test::TempDir dir;
  httplib::Server squatter;
  const int port = squatter.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  lxe::test::TempDir other;
  CHECK_THROWS_WITH(lxe::test::DaemonProcess(other, {"--lxd-socket", lxe::test::lxd_socket_path(), "--metrics-port",
                                                     std::to_string(port)}),
                    Catch::Contains("cannot serve metrics on 127.0.0.1:" + std::to_string(port)));
}
