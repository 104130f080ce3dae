#include "case_runner.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "cri/translate.h"
#include "cri/validation.h"
#include "invariants.h"
#include "lxd/json_codec.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/pod_network.h"
#include "model/image_config.h"
#include "model/naming.h"
#include "model/security_context.h"
#include "model/stored_config.h"
#include "store/records.h"

namespace lxe::fuzz {

namespace {

namespace v1 = runtime::v1;
using google::protobuf::util::MessageDifferencer;

// IDs as the handlers draw them (64 hex digits), fixed so that a finding replays exactly.
constexpr const char* kSandboxId = "5a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef";
constexpr const char* kContainerId = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef01234567";
constexpr const char* kImageFingerprint = "f00dfeed0123456789abcdef0123456789abcdef0123456789abcdef01234567";
// The state directory. Building specs only names paths under it and touches no file, so it need
// not exist: the fuzzer never writes to the disk.
constexpr const char* kStateDir = "/var/lib/lxe";
// What a container keeps of a Localhost seccomp profile (critest's, which blocks chmod).
constexpr const char* kLocalhostProfile =
    R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO","errnoRet":1,"names":["chmod","fchmodat"]}]})";

// A failed check, carried out of the case to run_case's answer.
struct Finding : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Says why a seed does not parse.
class TraceErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TraceErrors(Trace* trace) : trace_(trace) {}
  void AddError(int line, int column, const std::string& message) override {
    if (trace_ != nullptr)
      trace_->push_back("seed line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message);
  }

 private:
  Trace* trace_;
};

struct Pod {
  store::SandboxRecord record;
  v1::PodSandboxConfig config;  // as the reconciler reads it from the record
};

class Runner {
 public:
  explicit Runner(Trace* trace) : trace_(trace) {}
  void run(const Case& input);

 private:
  // `problem` from a validation function: "" accepts; anything else is traced as the refusal.
  bool passes(const std::string& call, const std::string& problem) {
    if (trace_ != nullptr) trace_->push_back(call + (problem.empty() ? ": accepted" : ": refused: " + problem));
    return problem.empty();
  }
  static void expect_none(const Violations& violations, const char* what) {
    if (violations.empty()) return;
    std::string text = std::string(what) + ":";
    for (const auto& v : violations) text += "\n  " + v;
    throw Finding(text);
  }
  // What the reconciler reads back from the store must be what the facade accepted.
  template <typename Message>
  static void expect_same(const Message& accepted, const Message& stored, const char* what) {
    if (!MessageDifferencer::Equals(accepted, stored)) throw Finding(std::string(what) + " is not what was accepted");
  }
  void check_container(const store::ContainerRecord& container, const v1::ContainerConfig& config, const Pod& pod,
                       const Expected& expected);

  Trace* trace_;
};

void Runner::check_container(const store::ContainerRecord& container, const v1::ContainerConfig& config,
                             const Pod& pod, const Expected& expected) {
  const reconcile::HostFiles files(kStateDir);
  const reconcile::MappingOptions options;
  const auto spec = reconcile::container_instance(container, config, pod.record, pod.config, files, options);
  expect_none(check_container_instance(spec, expected), "the container's instance");
  (void)lxd::instance_spec_to_json(spec).dump();  // the body of the create request
  if (!reconcile::runs_image_init(container, config))
    expect_none(check_init_spec(reconcile::init_spec(container, config, pod.record, pod.config).dump(2)), "spec.json");
  // The CRI view of the record: ContainerStatus reports the mounts and the resources in force.
  const auto status = cri::to_container_status(container);
  if (status.mounts_size() != config.mounts_size()) throw Finding("ContainerStatus lost mounts");
  for (int i = 0; i < config.mounts_size(); ++i)
    expect_same(config.mounts(i), status.mounts(i), "a mount in ContainerStatus");
  (void)cri::to_container(container);
}

void Runner::run(const Case& input) {
  // RunPodSandbox.
  if (!passes("RunPodSandbox", cri::run_pod_sandbox_problem(input.run()))) return;
  const std::string prefix =
      model::valid_lxd_name_prefix(input.lxd_name_prefix()) ? input.lxd_name_prefix() : "lxe";
  const auto& accepted = input.run().config();
  const auto& m = accepted.metadata();
  Pod pod;
  pod.record.id = kSandboxId;
  pod.record.lxd_name = model::sandbox_lxd_name(prefix, m.name(), pod.record.id);
  pod.record.name = m.name();
  pod.record.namespace_ = m.namespace_();
  pod.record.uid = m.uid();
  pod.record.attempt = m.attempt();
  pod.record.runtime_handler = input.run().runtime_handler();
  pod.record.labels = {accepted.labels().begin(), accepted.labels().end()};
  pod.record.annotations = {accepted.annotations().begin(), accepted.annotations().end()};
  pod.record.config_json = model::to_json(accepted);
  pod.record.infra_pid = input.infra_pid() > 0 ? input.infra_pid() : 0;
  // As RunPodSandbox records it (the facade also checks that --host-netns opens).
  if (accepted.linux().security_context().namespace_options().network() == v1::NODE)
    pod.record.pod_network = reconcile::kHostNetwork;
  pod.config = model::parse_sandbox_config(pod.record.config_json);
  expect_same(accepted, pod.config, "the PodSandboxConfig read back from the store's JSON");
  if (store::string_map_from_json(store::to_json(pod.record.labels)) != pod.record.labels)
    throw Finding("labels changed through the store's JSON");

  const reconcile::HostFiles files(kStateDir);
  const reconcile::MappingOptions options;
  const std::string host_netns = reconcile::in_host_network(pod.record) ? options.host_netns : "";
  // The sysctls RunPodSandbox accepted, with '/' between parts written as LXC wants them ('.').
  std::map<std::string, std::string> sysctls;
  for (const auto& [name, value] : pod.config.linux().sysctls()) {
    std::string dotted = name;
    if (dotted.find('/') != std::string::npos) std::replace(dotted.begin(), dotted.end(), '/', '.');
    sysctls[dotted] = value;
  }
  Expected expected_pod{prefix, pod.record.id, {}, false, pod.record.infra_pid, host_netns};
  expected_pod.sysctls = sysctls;
  const auto& pod_modes = pod.config.linux().security_context().namespace_options();
  if (pod_modes.pid() == v1::NODE) expected_pod.host_pidns = options.host_pidns;
  if (pod_modes.ipc() == v1::NODE) expected_pod.host_ipcns = options.host_ipcns;
  // A pod on its own network whose containers have user namespaces of their own lets them bind
  // low ports, unless it sets that itself.
  if (pod_modes.network() != v1::NODE && (pod_modes.pid() == v1::NODE || pod_modes.ipc() == v1::NODE))
    expected_pod.sysctls.emplace("net.ipv4.ip_unprivileged_port_start", "0");
  const auto profile = reconcile::sandbox_profile(pod.record, pod.config, files, options);
  expect_none(check_profile(profile, expected_pod), "the pod's profile");
  (void)lxd::profile_spec_to_json(profile, true).dump();
  const auto holder = reconcile::infra_instance(pod.record, pod.config, files, options);
  expect_none(check_infra_instance(holder, expected_pod), "the namespace holder");
  (void)lxd::instance_spec_to_json(holder).dump();
  expect_none(check_resolv_conf(reconcile::resolv_conf(pod.config)), "resolv.conf");
  const auto status = cri::to_pod_sandbox_status(pod.record);
  expect_same(accepted.metadata(), status.metadata(), "the pod's metadata in PodSandboxStatus");

  // CreateContainer in that pod.
  if (!input.has_create() || !passes("CreateContainer", cri::create_container_problem(input.create()))) return;
  const auto& config = input.create().config();
  // The process check CreateContainer makes against the image (an LXD image here: no defaults).
  if (const auto process = model::container_process(config, nullptr);
      !passes("CreateContainer (process)", std::holds_alternative<std::string>(process)
                                              ? std::get<std::string>(process)
                                              : std::string()))
    return;
  // The security context, as CreateContainer checks it (the image is an LXD image here, so no
  // command makes a system container).
  const bool system_container = config.command().empty() && config.args().empty();
  if (!passes("CreateContainer (namespaces)",
              reconcile::container_namespace_problem(pod.config, config, system_container)) ||
      !passes("CreateContainer (security mounts)", reconcile::security_mounts_problem(config, system_container)) ||
      !passes("CreateContainer (security context)",
              model::security_context_problem(config, pod.config, system_container)))
    return;
  store::ContainerRecord container;
  // CreateContainer would read a Localhost profile from the node; the runner keeps a fixed one, as
  // load_localhost_profile stores it.
  const auto& security = config.linux().security_context();
  if (std::get<model::SeccompChoice>(model::seccomp_choice(security)).kind == model::SeccompChoice::Kind::Localhost &&
      !security.privileged())
    container.seccomp_profile = kLocalhostProfile;
  if (!passes("CreateContainer (log path)",
              cri::log_path_problem(pod.config.log_directory(), config.log_path(), container.log_path)))
    return;
  expect_none(check_log_path(container.log_path, pod.config.log_directory()), "the container's log file");
  container.id = kContainerId;
  container.sandbox_id = pod.record.id;
  container.name = config.metadata().name();
  container.attempt = config.metadata().attempt();
  container.lxd_name = model::container_lxd_name(prefix, pod.record.name, container.name, container.id);
  container.image = config.image().image();
  container.image_ref = kImageFingerprint;
  container.labels = {config.labels().begin(), config.labels().end()};
  container.annotations = {config.annotations().begin(), config.annotations().end()};
  container.config_json = model::to_json(config);
  if (config.has_linux() && config.linux().has_resources())
    container.resources_json = model::to_json(config.linux().resources());
  const auto stored = model::parse_container_config(container.config_json);
  expect_same(config, stored, "the ContainerConfig read back from the store's JSON");

  Expected expected{prefix,     container.id, {}, !reconcile::runs_image_init(container, stored), pod.record.infra_pid,
                    host_netns};
  expected.sysctls = sysctls;
  {
    // CRI's modes, read afresh: the container's own namespace_options when it has them, else the
    // pod's; a system container without options of its own keeps its own PID namespace.
    const bool own_options = stored.has_linux() && stored.linux().has_security_context() &&
                             stored.linux().security_context().has_namespace_options();
    const auto& modes = own_options ? stored.linux().security_context().namespace_options() : pod_modes;
    auto pid_mode = modes.pid();
    if (system_container && !own_options && pid_mode == v1::POD) pid_mode = v1::CONTAINER;
    if (pid_mode == v1::NODE) expected.host_pidns = options.host_pidns;
    if (modes.ipc() == v1::NODE) expected.host_ipcns = options.host_ipcns;
    // The holder's PID namespace cannot be shared from a user namespace of the container's own,
    // which a pod on the host's network or IPC namespace gives it.
    expected.pid_from_holder =
        pid_mode == v1::POD && pod_modes.network() != v1::NODE && modes.ipc() != v1::NODE;
    expected.ipc_from_holder = modes.ipc() == v1::POD;
    // The pod's sysctls where this container's user namespace owns the namespace they are in.
    const bool own_user = pod_modes.network() == v1::NODE || pid_mode == v1::NODE || modes.ipc() == v1::NODE;
    const bool ipc_own = modes.ipc() == v1::CONTAINER;
    std::map<std::string, std::string> applied;
    for (const auto& [name, value] : sysctls) {
      const bool network = name.rfind("net.", 0) == 0;
      if (network ? !own_user : (ipc_own || !own_user)) applied.emplace(name, value);
    }
    expected.sysctls = applied;
  }
  for (const auto& kv : stored.envs()) expected.env_names.insert(kv.key());
  expected.unconfined_seccomp = lxe::model::runs_unconfined(stored);
  check_container(container, stored, pod, expected);

  // UpdateContainerResources on that container, one after the other.
  for (const auto& update : input.updates()) {
    if (!passes("UpdateContainerResources", cri::update_resources_problem(update))) continue;
    v1::LinuxContainerResources current;
    try {
      current = reconcile::resources_from_json(container.resources_json);
    } catch (const std::exception&) {
      throw Finding("the stored resources cannot be read back");
    }
    const auto merged = cri::merged_resources(current, update.linux());
    if (!passes("UpdateContainerResources (live)", cri::live_update_problem(current, merged))) continue;
    container.resources_json = model::to_json(merged);
    // The reconciler's PATCHes: every managed key, cleared ones as "".
    // (Under the pod's resources, as the reconciler computes them.)
    const auto wanted = reconcile::container_limits(container, pod.record);
    expect_none(check_limits(wanted), "the managed limits");
    for (const auto& patch : reconcile::limit_patches(wanted, true))
      expect_none(check_limits(patch), "a limits PATCH");
    check_container(container, stored, pod, expected);  // as re-created after the update
    const auto status_resources = cri::to_container_status(container).resources().linux();
    if (container.resources_json != "{}") expect_same(merged, status_resources, "the resources in ContainerStatus");
  }
}

}  // namespace

bool decode(std::string_view bytes, Case& out, Trace* trace) {
  // A committed seed: protobuf text format, starting with a comment that says what it is. The wire
  // format of a Case never starts with '#' (0x23 would begin a group in field 4, a string).
  if (bytes.empty() || bytes.front() != '#') {
    if (out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
    if (trace != nullptr) trace->push_back("not a lxe.fuzz.Case in the wire format");
    return false;
  }
  Case parsed;
  TraceErrors errors(trace);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(bytes), &parsed)) return false;
  // Through the wire format and back, because its parser (gRPC's) refuses a string that is not
  // UTF-8, and lxe never sees one.
  return out.ParseFromString(parsed.SerializeAsString());
}

std::string run_case(const Case& input, Trace* trace) {
  try {
    Runner(trace).run(input);
  } catch (const Finding& f) {
    return f.what();
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
  return "";
}

}  // namespace lxe::fuzz
