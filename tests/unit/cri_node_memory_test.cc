// The CRI calls that go to LXD directly, through lxe's services in this process over the in-memory
// LXD: ExecSync (LXD's exec API running lxe-init exec), the image RPCs (LXD's local images),
// Status (the health check) and ImageFsInfo; each with LXD's failures.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/memory_fixture.h"

namespace v1 = runtime::v1;
using lxe::lxd::Error;
using lxe::lxd::ErrorKind;
using lxe::lxd::ExecResult;
using lxe::test::MemoryLxd;
using lxe::test::MemoryRuntime;
using Op = MemoryLxd::Op;

namespace {

struct Exec {
  grpc::Status status;
  v1::ExecSyncResponse response;
};

Exec exec_sync(MemoryRuntime& rt, const std::string& id, std::vector<std::string> cmd, int64_t timeout = 5) {
  v1::ExecSyncRequest request;
  request.set_container_id(id);
  for (const auto& word : cmd) request.add_cmd(word);
  request.set_timeout(timeout);
  Exec out;
  out.status = rt.runtime.ExecSync(nullptr, &request, &out.response);
  return out;
}

grpc::Status image_status(MemoryRuntime& rt, const std::string& ref, v1::ImageStatusResponse& response) {
  v1::ImageStatusRequest request;
  request.mutable_image()->set_image(ref);
  return rt.images.ImageStatus(nullptr, &request, &response);
}

}  // namespace

TEST_CASE("ExecSync: lxe-init exec runs the command with the container's spec; output and exit code",
          "[cri][exec]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  std::vector<std::string> ran;
  rt.lxd.on_exec([&](const std::string&, const std::vector<std::string>& command) {
    ran = command;
    return ExecResult{3, "out\n", "err\n"};
  });
  const auto result = exec_sync(rt, id, {"cat", "/etc/hostname"}, 7);
  REQUIRE(result.status.ok());
  CHECK(result.response.exit_code() == 3);
  CHECK(result.response.stdout() == "out\n");
  CHECK(result.response.stderr() == "err\n");
  CHECK(ran == std::vector<std::string>{"/.lxe/init", "exec", "--timeout", "7", "--spec", "/.lxe/state/spec.json", "--",
                                        "cat", "/etc/hostname"});
  const auto calls = rt.lxd.calls(Op::Exec);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].target == rt.container(id).lxd_name);
}

TEST_CASE("ExecSync: what LXD says becomes the caller's answer", "[cri][exec]") {
  MemoryRuntime rt;
  const auto [pod, id] = rt.running_pod();
  SECTION("a command that is not there: exit code 127, as a shell says") {
    // What lxd::Client makes of LXD 5.0's "Command not found" operation failure.
    rt.lxd.on_exec([](const std::string&, const std::vector<std::string>&) -> ExecResult {
      ExecResult not_found{127, "", ""};
      not_found.command_not_found = true;
      return not_found;
    });
    const auto result = exec_sync(rt, id, {"nope"});
    REQUIRE(result.status.ok());
    CHECK(result.response.exit_code() == 127);
    CHECK_THAT(result.response.stderr(), Catch::Contains("command not found") && Catch::Contains("nope"));
  }
  SECTION("a command LXD cannot start otherwise: UNKNOWN with LXD's reason") {
    rt.lxd.on_exec([](const std::string&, const std::vector<std::string>&) -> ExecResult {
      throw Error(ErrorKind::OperationFailed, "Executing command failed: permission denied");
    });
    const auto result = exec_sync(rt, id, {"nope"});
    CHECK(result.status.error_code() == grpc::StatusCode::UNKNOWN);
    CHECK_THAT(result.status.error_message(), Catch::Contains("permission denied"));
  }
  SECTION("lxe-init's timeout: DEADLINE_EXCEEDED") {
    rt.lxd.on_exec([](const std::string&, const std::vector<std::string>&) {
      return ExecResult{124, "", "lxe-init: exec timed out after 1 s\n"};
    });
    CHECK(exec_sync(rt, id, {"sleep", "9"}, 1).status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  SECTION("the container stopped since lxe last saw it run: FAILED_PRECONDITION") {
    // The stop's event is not delivered yet: the store still says running.
    rt.lxd.on_event({});
    rt.lxd.stop_outside(rt.container(id).lxd_name);
    const auto result = exec_sync(rt, id, {"true"});
    CHECK(result.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(result.status.error_message(), Catch::Contains("not running"));
  }
  SECTION("LXD does not answer: UNAVAILABLE") {
    rt.lxd.fail_next(Op::Exec, {.kind = ErrorKind::Transport});
    CHECK(exec_sync(rt, id, {"true"}).status.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("a container known to be stopped is not asked about") {
    REQUIRE(rt.stop_container(id).ok());
    rt.lxd.clear_calls();
    CHECK(exec_sync(rt, id, {"true"}).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(rt.lxd.count(Op::Exec) == 0);
  }
}

TEST_CASE("Images: LXD's local images by alias, normalised name and ID", "[cri][images]") {
  MemoryRuntime rt;
  const std::string id = "sha256:" + rt.image_fingerprint;
  rt.lxd.add_image("a VM", {"vm"}, "virtual-machine");

  v1::ListImagesRequest list;
  v1::ListImagesResponse listed;
  REQUIRE(rt.images.ListImages(nullptr, &list, &listed).ok());
  REQUIRE(listed.images_size() == 1);  // containers' images only
  CHECK(listed.images(0).id() == id);
  CHECK(listed.images(0).repo_tags(0) == "busybox:latest");

  for (const std::string& ref : std::vector<std::string>{"busybox", "busybox:latest", "docker.io/library/busybox:latest", id}) {
    INFO(ref);
    v1::ImageStatusResponse response;
    REQUIRE(image_status(rt, ref, response).ok());
    CHECK(response.image().id() == id);
  }
  v1::ImageStatusResponse none;
  REQUIRE(image_status(rt, "nginx", none).ok());
  CHECK_FALSE(none.has_image());

  v1::PullImageRequest pull;
  pull.mutable_image()->set_image("busybox");
  v1::PullImageResponse pulled;
  REQUIRE(rt.images.PullImage(nullptr, &pull, &pulled).ok());
  CHECK(pulled.image_ref() == id);
  // Anything else goes to its registry (the fixture's skopeo is `false`: no registry answers).
  pull.mutable_image()->set_image("nginx");
  const auto status = rt.images.PullImage(nullptr, &pull, &pulled);
  CHECK(status.error_code() == grpc::StatusCode::INTERNAL);
  CHECK_THAT(status.error_message(), Catch::Contains("docker.io/library/nginx:latest"));
  pull.mutable_image()->set_image("Not/A/Reference");
  CHECK(rt.images.PullImage(nullptr, &pull, &pulled).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  v1::RemoveImageRequest remove;
  v1::RemoveImageResponse removed;
  remove.mutable_image()->set_image("nginx");
  CHECK(rt.images.RemoveImage(nullptr, &remove, &removed).ok());
  remove.mutable_image()->set_image("busybox");
  CHECK(rt.images.RemoveImage(nullptr, &remove, &removed).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(rt.lxd.get_image_alias("busybox").target == rt.image_fingerprint);  // never deleted
}

TEST_CASE("Images: LXD's failures become gRPC codes", "[cri][images]") {
  MemoryRuntime rt;
  v1::ImageStatusResponse response;
  SECTION("LXD does not answer: UNAVAILABLE") {
    rt.lxd.fail_next(Op::GetImageAlias, {.kind = ErrorKind::Transport});
    CHECK(image_status(rt, "busybox", response).error_code() == grpc::StatusCode::UNAVAILABLE);
    rt.lxd.fail_next(Op::ListImages, {.kind = ErrorKind::Timeout});
    v1::ListImagesRequest list;
    v1::ListImagesResponse listed;
    CHECK(rt.images.ListImages(nullptr, &list, &listed).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("LXD refuses: its status") {
    rt.lxd.fail_next(Op::GetImageAlias, {.kind = ErrorKind::Forbidden, .message = "not allowed"});
    CHECK(image_status(rt, "busybox", response).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  // Answered again afterwards.
  CHECK(image_status(rt, "busybox", response).ok());
  CHECK(response.has_image());
}

TEST_CASE("Status: RuntimeReady follows whether LXD answers the health check", "[cri][status]") {
  MemoryRuntime rt;
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse response;
  REQUIRE(rt.runtime.Status(nullptr, &request, &response).ok());
  REQUIRE(response.status().conditions_size() == 3);
  CHECK(response.status().conditions(0).type() == "RuntimeReady");
  CHECK(response.status().conditions(0).status());
  // The reconciler adopted the (empty) store when it started: ready, and verbose says so.
  CHECK(response.status().conditions(2).type() == "ReconcilerReady");
  CHECK(rt.wait_until([&](const lxe::store::Registry::View&) { return rt.reconciler.adopted(); }));
  response.Clear();
  REQUIRE(rt.runtime.Status(nullptr, &request, &response).ok());
  CHECK(response.status().conditions(2).status());
  CHECK(response.status().conditions(2).reason().empty());
  CHECK_THAT(response.info().at("lxe"), Catch::Contains("\"reconciler\":{\"adopted\":true"));
  CHECK_THAT(response.info().at("lxe"), Catch::Contains(rt.lxd.socket_path()) && Catch::Contains("5.0.2"));

  rt.lxd.set_reachable(false);
  rt.health.check_now();  // what the monitor's next round finds
  response.Clear();
  REQUIRE(rt.runtime.Status(nullptr, &request, &response).ok());
  CHECK_FALSE(response.status().conditions(0).status());
  CHECK(response.status().conditions(0).reason() == "LXDUnreachable");
  CHECK_THAT(response.status().conditions(0).message(), Catch::Contains(rt.lxd.socket_path()));
  CHECK(response.status().conditions(1).status());  // the network does not depend on LXD
}

TEST_CASE("ImageFsInfo: the filesystem of LXD's folder, next to its socket", "[cri][images]") {
  MemoryRuntime rt;
  v1::ImageFsInfoRequest request;
  v1::ImageFsInfoResponse response;
  REQUIRE(rt.images.ImageFsInfo(nullptr, &request, &response).ok());
  REQUIRE(response.image_filesystems_size() == 1);
  CHECK_FALSE(response.image_filesystems(0).fs_id().mountpoint().empty());
}
