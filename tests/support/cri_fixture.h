// A real lxe against the real LXD, driven over its CRI socket, for lifecycle tests.
//
//   lxe::test::CriFixture fx("life");            // starts lxe on a socket and store of its own
//   auto pod = fx.pod_config("p1");              // pod "life-p1", log_directory in the TempDir
//   const std::string pod_id = fx.must_run_pod(pod);
//   auto c = fx.container_config("c1", {"sh", "-c", "echo hello; sleep 3600"}, "c1.log");
//   const std::string id = fx.must_create_container(pod_id, c, pod);
//   REQUIRE(fx.start(id).ok());
//   ...
//   fx.remove_all_pods_and_expect_clean();       // the last line of every test
//
// Every pod a fixture makes is named "<tag>-<suffix>", so every LXD object lxe makes for it starts
// with run_prefix() + tag + "-" (the LXD name of a pod and of a container begins with the pod's
// name). Tags are [a-z0-9]+ and unique within the process, so the tests of one run never see each
// other's objects. The first fixture of a process sweeps what killed earlier runs left in LXD.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "lxd/client.h"
#include "runtime/v1/api.grpc.pb.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace lxe::test {

namespace cri = ::runtime::v1;

// A status and, when it is OK, what the call answered.
template <typename T>
struct Reply {
  grpc::Status status;
  T value{};
  bool ok() const { return status.ok(); }
  grpc::StatusCode code() const { return status.error_code(); }
};

// "NOT_FOUND: message", for INFO and failure messages.
std::string describe(const grpc::Status& status);

class CriFixture {
 public:
  // `tag`: [a-z0-9]+, at most 12 characters, unique among the fixtures of this process.
  explicit CriFixture(std::string tag);
  // With flags of its own for lxe (DaemonProcess adds `--network-plugin none` unless they name a
  // network plugin).
  CriFixture(std::string tag, std::vector<std::string> daemon_args);
  // Best effort, never throws: removes the fixture's pods through lxe, then deletes whatever LXD
  // still has under the fixture's prefix (a failed test must not leave objects behind).
  ~CriFixture();
  CriFixture(const CriFixture&) = delete;
  CriFixture& operator=(const CriFixture&) = delete;

  const TempDir& dir() const { return dir_; }
  DaemonProcess& daemon() { return *daemon_; }
  cri::RuntimeService::Stub& runtime() { return daemon_->runtime(); }
  cri::ImageService::Stub& images() { return daemon_->images(); }
  const lxd::Client& lxd() const { return lxd_; }
  const std::string& tag() const { return tag_; }

  // Stops lxe with SIGTERM (returns its exit code) and starts a new one on the same TempDir: same
  // --socket, same --db, same files next to the store. `while_down` runs in between (what happens
  // in LXD while lxe is not looking).
  int restart_daemon(const std::function<void()>& while_down = {});

  // The end of the running lxe's log (stderr), for failure messages.
  std::string daemon_log_tail(size_t max_chars = 6000) const;

  // ---- building requests

  // The LXD name prefix of every object of this fixture's pods: run_prefix() + tag + "-".
  std::string lxd_prefix() const;
  // The pod name for `suffix`: tag + "-" + suffix.
  std::string pod_name(const std::string& suffix) const;
  // A pod "<tag>-<suffix>" in namespace "lxe-test" with a fresh uid, attempt 0, and a
  // log_directory of its own under the TempDir (created, mode 0755).
  cri::PodSandboxConfig pod_config(const std::string& suffix) const;
  // A container of image "busybox" running `command`, logging to `log_path` (relative to the
  // pod's log_directory; empty: no log).
  static cri::ContainerConfig container_config(const std::string& name, std::vector<std::string> command,
                                               const std::string& log_path = "");

  // ---- RuntimeService, each call with a deadline (30 s unless said otherwise)

  Reply<std::string> run_pod(const cri::PodSandboxConfig& config, const std::string& runtime_handler = "");
  Reply<std::string> run_pod(const cri::RunPodSandboxRequest& request);  // as given, for bad input
  std::string must_run_pod(const cri::PodSandboxConfig& config);        // REQUIREs OK
  grpc::Status stop_pod(const std::string& pod_id);
  grpc::Status remove_pod(const std::string& pod_id);
  Reply<cri::PodSandboxStatusResponse> pod_status(const std::string& pod_id, bool verbose = false);
  std::vector<cri::PodSandbox> list_pods();
  std::vector<cri::PodSandbox> list_pods(const cri::PodSandboxFilter& filter);

  Reply<std::string> create_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                      const cri::PodSandboxConfig& pod_config);
  Reply<std::string> create_container(const cri::CreateContainerRequest& request);  // as given
  std::string must_create_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                    const cri::PodSandboxConfig& pod_config);
  // Create and start; REQUIREs both OK.
  std::string must_run_container(const std::string& pod_id, const cri::ContainerConfig& config,
                                 const cri::PodSandboxConfig& pod_config);
  grpc::Status start(const std::string& container_id);
  grpc::Status stop(const std::string& container_id, int64_t timeout_s = 0);
  grpc::Status remove(const std::string& container_id);
  Reply<cri::ContainerStatus> container_status(const std::string& container_id, bool verbose = false);
  std::vector<cri::Container> list_containers();
  std::vector<cri::Container> list_containers(const cri::ContainerFilter& filter);
  Reply<cri::ExecSyncResponse> exec(const std::string& container_id, std::vector<std::string> cmd,
                                    int64_t timeout_s = 0,
                                    std::chrono::milliseconds deadline = std::chrono::seconds(30));
  // stdout of `cmd` run in the container, which REQUIREs that the call succeeds and `cmd` exits 0.
  std::string must_exec(const std::string& container_id, std::vector<std::string> cmd);
  grpc::Status reopen_log(const std::string& container_id);

  // ---- ImageService (a pull gets `deadline`, 120 s unless said otherwise)
  Reply<cri::PullImageResponse> pull_image(const std::string& ref, const cri::AuthConfig* auth = nullptr,
                                           std::chrono::milliseconds deadline = std::chrono::seconds(120));
  Reply<cri::ImageStatusResponse> image_status(const std::string& ref);
  grpc::Status remove_image(const std::string& ref);

  // Polls ContainerStatus until the container is in `state`, up to `timeout`; returns the last
  // status seen (check its state).
  cri::ContainerStatus wait_for_state(const std::string& container_id, cri::ContainerState state,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The full path of a container log of a pod built by pod_config().
  static std::string log_file(const cri::PodSandboxConfig& pod, const std::string& log_path);

  // ---- LXD

  // Names of LXD instances and of profiles that start with lxd_prefix().
  std::set<std::string> lxd_instances() const;
  std::set<std::string> lxd_profiles() const;
  // CHECKs that LXD has no instance and no profile under lxd_prefix(), once lxe's deletes that
  // follow a RemoveContainer / RemovePodSandbox answer are done (given up to 30 s).
  void expect_lxd_clean() const;
  // Whether `done` holds within `limit`, asked every 50 ms: for what lxe does after it answered
  // (LXD's deletes after a removal).
  static bool settles(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(30));
  // Out-of-band changes a test makes with LXD directly ("someone ran lxc"): force-stops or deletes
  // an instance, retrying for up to 20 s while LXD answers "Instance is busy" because lxe's own
  // reconciler is in the middle of an operation on it (as a person would retry `lxc stop`).
  // A PATCH of the instance made as a person would with lxc, retried while LXD is busy with another
  // change of it (lxe's repair, or LXD applying a profile change).
  void out_of_band_patch(const std::string& instance, const nlohmann::json& patch) const;
  void out_of_band_stop(const std::string& instance) const;
  void out_of_band_delete(const std::string& instance) const;
  // RemovePodSandbox of every pod this fixture ran (REQUIREs OK), CHECKs that ListPodSandbox no
  // longer shows them and that LXD has nothing under lxd_prefix(). The last step of every test.
  void remove_all_pods_and_expect_clean();

 private:
  void start_daemon();

  std::string tag_;
  std::vector<std::string> daemon_args_;
  TempDir dir_;
  lxd::Client lxd_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::vector<std::string> pods_;  // IDs of the pods run_pod made, for the clean-up
};

}  // namespace lxe::test
