// ExecSync when LXD refuses the exec: a container that stopped after lxe last saw it run (kubelet
// goes on running readiness probes while it stops a pod) is FAILED_PRECONDITION, not the caller's
// INVALID_ARGUMENT. The store must say "running" while LXD says "stopped": real LXD cannot be made
// to hold that window open on demand, so the RuntimeService runs in this process against a fake
// LXD, with a reconciler that is never started.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "cri/runtime_service.h"
#include "lxd/client.h"
#include "lxd/health.h"
#include "reconcile/host_files.h"
#include "reconcile/reconciler.h"
#include "store/registry.h"
#include "store/store.h"
#include "support/fake_lxd.h"
#include "support/temp_dir.h"

namespace v1 = runtime::v1;
using lxe::test::FakeLxd;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kInstance = "lxe-web-app-0123456789ab";

json instance(const std::string& status, int status_code) {
  return json{{"name", kInstance}, {"status", status}, {"status_code", status_code}, {"type", "container"},
              {"config", json::object()}, {"devices", json::object()}, {"profiles", json::array()}};
}

struct Runtime {
  lxe::test::TempDir dir;
  FakeLxd lxd;
  lxe::store::Store store{dir.file("lxe.db"), lxe::store::Store::Mode::ReadWrite};
  lxe::store::Registry registry{store};
  lxe::reconcile::HostFiles files{dir.path()};
  lxe::lxd::Client client{lxe::lxd::ClientOptions{.socket_path = lxd.socket_path(),
                                                  .connect_timeout = 1000ms,
                                                  .request_timeout = 2000ms,
                                                  .operation_timeout = 5000ms}};
  lxe::lxd::HealthMonitor health{client, std::chrono::hours(1)};
  lxe::reconcile::Reconciler reconciler{registry, client, files, {}};  // never started
  lxe::cri::RuntimeService service{lxe::cri::RuntimeContext{registry, reconciler, files, client, health}};
  std::string container_id = std::string(64, 'c');

  Runtime() {
    lxe::store::SandboxRecord s;
    s.id = std::string(64, 's');
    s.name = "web";
    s.namespace_ = "default";
    s.uid = "uid-1";
    s.lxd_name = "lxe-web-0123456789ab";
    s.config_json = "{}";
    s.desired_state = lxe::store::SandboxState::Ready;
    s.observed_state = lxe::store::SandboxObserved::Ready;
    lxe::store::ContainerRecord c;
    c.id = container_id;
    c.sandbox_id = s.id;
    c.name = "app";
    c.lxd_name = kInstance;
    c.config_json = R"({"metadata":{"name":"app"},"command":["sleep","3600"]})";
    c.desired_state = lxe::store::ContainerState::Running;
    c.observed_state = lxe::store::ContainerObserved::Running;  // what lxe last saw
    lxe::store::Registry::Change change(registry);
    change.put(s);
    change.put(c);
    change.commit();
  }

  grpc::Status exec() {
    v1::ExecSyncRequest request;
    request.set_container_id(container_id);
    request.add_cmd("true");
    request.set_timeout(5);
    v1::ExecSyncResponse response;
    return service.ExecSync(nullptr, &request, &response);
  }
};

}  // namespace

TEST_CASE("ExecSync: LXD refuses the exec of an instance that has stopped -> FAILED_PRECONDITION", "[exec]") {
  Runtime rt;
  const std::string base = std::string("/1.0/instances/") + kInstance;
  rt.lxd.on("POST", base + "/exec",
            [](const auto&, auto& res) { FakeLxd::reply_error(res, 400, "Instance is not running"); });
  rt.lxd.on("GET", base, [](const auto&, auto& res) { FakeLxd::reply_sync(res, instance("Stopped", 102)); });

  const auto status = rt.exec();
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains(rt.container_id) && Catch::Contains("is not running"));
  // The record is the reconciler's to change, not the exec's.
  CHECK(rt.registry.container(rt.container_id)->observed_state == lxe::store::ContainerObserved::Running);
}

TEST_CASE("ExecSync: a bad request for a running instance stays LXD's INVALID_ARGUMENT", "[exec]") {
  Runtime rt;
  const std::string base = std::string("/1.0/instances/") + kInstance;
  rt.lxd.on("POST", base + "/exec",
            [](const auto&, auto& res) { FakeLxd::reply_error(res, 400, "Some other refusal"); });
  rt.lxd.on("GET", base, [](const auto&, auto& res) { FakeLxd::reply_sync(res, instance("Running", 103)); });

  const auto status = rt.exec();
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("Some other refusal"));
}
