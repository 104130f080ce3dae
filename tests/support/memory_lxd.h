// An LXD in memory, implementing lxd::Api (src/lxd/api.h): the reconciler, its executor, the health
// monitor and the CRI facade run against it in unit tests, with LXD's failures injected at will
// and every call logged for assertions. What only real LXD can show (that a spec boots, that
// raw.lxc joins namespaces, what a live limit does) stays in tests/integration.
//
// Behaviours of LXD 5.0.2 mirrored here (checked against the real LXD with curl on its socket,
// and against tests/integration/lxd_client_lxd_test.cc), with the lxd::Error kind the client
// turns each into:
//   - a missing instance, profile, image or alias: NotFound ("Instance not found", ...);
//   - creating an instance or profile whose name is taken: Conflict ("... already exists");
//   - creating an instance with a profile that does not exist: Server ("Requested profile ...
//     doesn't exist"), from an image alias or fingerprint that does not exist: NotFound;
//   - instances are created Stopped; start makes them Running with a new init PID, and starting
//     a running instance fails the operation: OperationFailed ("The instance is already running");
//   - stopping a stopped instance succeeds (LXD fails the operation; the client takes that as
//     done); a graceful stop of an instance whose clean shutdown does not finish
//     (set_clean_shutdown(name, false)) ends as a forced stop, as the client does;
//   - deleting a running instance: BadRequest ("Instance is running"); deleting a profile that an
//     instance uses: Server ("Profile is currently in use");
//   - a PATCH merges: config keys (a key sent as "" is removed) and devices by whole device;
//     "profiles" replaces the list;
//   - every write to an object (patch, start, stop: LXD's ETag covers volatile.last_state.power)
//     changes its ETag; a PATCH with an If-Match that no longer matches: PreconditionFailed;
//   - GET of one object carries its ETag, lists do not; /state of a stopped instance has PID 0;
//   - instances get volatile.idmap.next/base at creation and volatile.idmap.current once started,
//     with root mapped to Options::idmap_host_base (this machine's LXD maps it to 100000);
//   - list filters: "<field> eq <value>" clauses joined by "and", on name, status, type and
//     config.<key> (local config); anything else: Server ("Invalid filter: ...");
//   - exec of an instance that does not run: BadRequest ("Instance is not running"); its result
//     is the test's (on_exec), exit code 0 with no output by default;
//   - LXD busy with another operation on the object (busy_next): Busy, as the client classifies
//     LXD's "Instance is busy running a ... operation";
//   - import_image of the same tarball again is fine; an alias already naming another image:
//     Conflict, and the image uploaded for the call is gone again;
//   - lifecycle events (instance-created/-started/-stopped/-shutdown/-updated/-deleted,
//     profile-created/-updated/-deleted) for every change, to the sink given to on_event, with
//     LXD's source paths ("/1.0/instances/<name>").
//   - one storage pool, "default" (driver dir, source Options::storage_pool_source); any other
//     name: NotFound ("Storage pool not found");
// Not mirrored: projects, storage volumes and other pools, networks, snapshots, VMs, frozen instances, operations (a call
// acts at once, so nothing is ever in progress), validation of config keys and devices (any is
// accepted), the "default" profile's devices (it starts empty).
//
// tests/support/api_contract.h checks the behaviours above that lxe relies on most against both
// this and the real LXD.
//
// Thread-safe: the reconciler's workers call it concurrently. The hook, the exec script and the
// event sink run outside its lock and may call it again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lxd/api.h"
#include "lxd/events.h"

namespace lxe::test {

class MemoryLxd final : public lxd::Api {
 public:
  // The operations of lxd::Api, for the call log and fault injection.
  enum class Op {
    ServerInfo,
    GetStoragePool,
    GetNetwork,
    CreateNetwork,
    DeleteNetwork,
    ListProfiles,
    GetProfile,
    CreateProfile,
    PatchProfile,
    DeleteProfile,
    ListInstances,
    GetInstance,
    GetInstanceState,
    CreateInstance,
    PatchInstance,
    DeleteInstance,
    RenameInstance,
    StartInstance,
    StopInstance,
    Exec,
    ListImages,
    GetImage,
    GetImageAlias,
    ImportImage,
    DeleteImage,
    PullRemoteImage,
    TagImage,
  };

  // One call as lxe made it.
  struct Call {
    Op op;
    // The object the call is about: the instance, profile, image fingerprint or alias name; the
    // filter of list_instances; empty for the other lists and server_info.
    std::string target;
    // What came with it: the spec of a create, the patch, {"mode", "timeout"} of a stop, the
    // command of an exec, the alias of an import; null otherwise.
    nlohmann::json body;
    std::optional<lxd::ErrorKind> error;  // the kind of lxd::Error the call threw, if it did
  };

  // Makes the next `times` calls of an operation fail.
  struct Fault {
    lxd::ErrorKind kind = lxd::ErrorKind::Server;
    std::string message{};  // empty: a message like LXD's for that kind
    int times = 1;
    std::string target{};  // only calls about this object (Call::target); empty: any call
    // The call takes effect, then fails: LXD acted but its answer was lost (a Timeout after the
    // instance was created, say).
    bool after_effect = false;
  };

  struct Options {
    // What socket_path() answers. ImageFsInfo looks for LXD's folder next to it.
    std::string socket_path = "/var/lib/lxd/unix.socket";
    // The host ID the instances' root maps to (volatile.idmap.*): the executor gives a container's
    // state and log files to it.
    int64_t idmap_host_base = 1000000;
    std::string server_version = "5.0.2";
    int64_t server_pid = 0;  // what server_info() reports as LXD's PID (0: none)
    // The one storage pool, "default" with the dir driver, keeps its instances under this folder.
    std::string storage_pool_source = "/var/lib/lxd/storage-pools/default";
  };

  using ExecScript = std::function<lxd::ExecResult(const std::string& instance, const std::vector<std::string>& command)>;
  using Hook = std::function<void(const Call&)>;
  using EventSink = std::function<void(const lxd::LifecycleEvent&)>;

  MemoryLxd();
  explicit MemoryLxd(Options options);
  MemoryLxd(const MemoryLxd&) = delete;
  MemoryLxd& operator=(const MemoryLxd&) = delete;

  // ---- lxd::Api ----
  const std::string& socket_path() const override { return options_.socket_path; }
  lxd::ServerInfo server_info() const override;
  lxd::StoragePool get_storage_pool(const std::string& name) const override;
  lxd::Network get_network(const std::string& name) const override;
  void create_network(const lxd::NetworkSpec& spec) const override;
  void delete_network(const std::string& name) const override;
  std::vector<lxd::Profile> list_profiles() const override;
  lxd::Profile get_profile(const std::string& name) const override;
  void create_profile(const lxd::ProfileSpec& spec) const override;
  void patch_profile(const std::string& name, const nlohmann::json& patch,
                     const std::string& if_match = "") const override;
  void delete_profile(const std::string& name) const override;
  std::vector<lxd::Instance> list_instances(const std::string& filter = "", bool with_state = false) const override;
  lxd::Instance get_instance(const std::string& name) const override;
  lxd::InstanceState get_instance_state(const std::string& name) const override;
  void create_instance(const lxd::InstanceSpec& spec) const override;
  void patch_instance(const std::string& name, const nlohmann::json& patch,
                      const std::string& if_match = "") const override;
  void delete_instance(const std::string& name) const override;
  void rename_instance(const std::string& name, const std::string& new_name) const override;
  void start_instance(const std::string& name) const override;
  void stop_instance(const std::string& name, lxd::StopMode mode,
                     std::chrono::seconds graceful_timeout = std::chrono::seconds(30)) const override;
  lxd::ExecResult exec(const std::string& instance, const std::vector<std::string>& command,
                       const lxd::Config& environment = {}, const std::string& cwd = "",
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) const override;
  std::vector<lxd::Image> list_images() const override;
  lxd::Image get_image(const std::string& fingerprint) const override;
  lxd::ImageAlias get_image_alias(const std::string& name) const override;
  std::string import_image(const std::string& tarball, const std::string& alias,
                           const std::map<std::string, std::string>& properties = {}) const override;
  std::string import_image_file(const std::string& path, const std::string& alias,
                                const std::map<std::string, std::string>& properties = {}) const override;
  void delete_image(const std::string& fingerprint) const override;
  // Remote servers are not mirrored: a pull gets the image `remote_images` has under the source's
  // alias (or fingerprint), else NotFound-like OperationFailed as LXD says it.
  std::string pull_remote_image(const lxd::RemoteImageSource& source, std::chrono::milliseconds timeout) const override;
  void tag_image(const std::string& fingerprint, const std::string& alias,
                 const std::map<std::string, std::string>& properties) const override;
  // What pull_remote_image finds: "<server> <alias>" → image content.
  void add_remote_image(const std::string& server, const std::string& alias, const std::string& content);

  // ---- faults ----
  // Queues `fault` for `op`; faults of one operation are used in the order queued.
  void fail_next(Op op, Fault fault);
  // LXD's transient refusal while another operation holds the instance: Busy, with LXD 5.0's
  // "Instance is busy running a "stop" operation" (what it said right after a command ended).
  void busy_next(Op op, int times = 1, const std::string& target = "");
  // Drops the faults not used yet.
  void clear_faults();
  // LXD gone (its socket refuses connections): every call throws Transport until set back.
  void set_reachable(bool reachable);
  // Runs at the start of every call, before it takes effect and outside the lock. It may change
  // this LXD out of band (a person's lxc command racing lxe), or the store, or throw lxd::Error to
  // fail the call. Empty: none.
  void set_hook(Hook hook);
  // Whether a graceful stop of `instance` ends cleanly (default) or runs into its timeout (then
  // the instance is stopped by force, as the client does).
  void set_clean_shutdown(const std::string& instance, bool clean);

  // ---- exec and events ----
  // What exec answers (it may throw lxd::Error); by default exit code 0 and no output.
  void on_exec(ExecScript script);
  // Where lifecycle events go, synchronously after each change, outside the lock. Empty: nowhere.
  void on_event(EventSink sink);

  // ---- the call log ----
  std::vector<Call> calls() const;
  std::vector<Call> calls(Op op) const;
  size_t count(Op op, const std::string& target = "") const;
  void clear_calls();

  // ---- LXD's objects, as a person with lxc sees and changes them: not logged, no faults ----
  std::optional<lxd::Instance> instance(const std::string& name) const;
  std::optional<lxd::Profile> profile(const std::string& name) const;
  std::vector<std::string> instance_names() const;
  std::vector<std::string> profile_names() const;
  // Adds an image with `aliases` (as `lxc image import --alias`); returns its fingerprint.
  std::string add_image(const std::string& content, const std::vector<std::string>& aliases,
                        const std::string& type = "container");
  // Adds an instance or profile directly (one lxe did not make, say), as it is given.
  void add_instance(const lxd::InstanceSpec& spec, bool running = false);
  // lxc stop --force, lxc start, lxc delete --force, lxc config edit, lxc profile edit. Each
  // emits LXD's event and changes the ETag, like the real ones.
  void stop_outside(const std::string& name);
  void start_outside(const std::string& name);  // a new init PID, as lxc restart gives
  void delete_outside(const std::string& name);
  void edit_instance(const std::string& name, const std::function<void(lxd::Instance&)>& edit);
  void edit_profile(const std::string& name, const std::function<void(lxd::Profile&)>& edit);

 private:
  struct StoredInstance {
    lxd::Instance instance;  // etag, status, expanded_* are filled in when read
    int64_t pid = 0;  // its init's, 0 while stopped
    int64_t revision = 0;
  };
  struct StoredProfile {
    lxd::Profile profile;
    int64_t revision = 0;
  };
  struct PendingFault {
    Op op;
    Fault fault;
  };
  // The lifecycle events a change makes LXD send.
  using Events = std::vector<lxd::LifecycleEvent>;

  // Logs the call, runs the hook and takes a queued fault; throws for a fault that fails before
  // the effect (or for an unreachable LXD). Returns the fault to throw after the effect, if any,
  // and the call's index in the log.
  struct Admission {
    size_t index;
    std::optional<Fault> after;
  };
  Admission admit(Op op, const std::string& target, nlohmann::json body) const;
  // Admits the call, runs `effect(events)` under the lock, emits the events, then throws the
  // after-effect fault if one was queued. Returns what `effect` returns.
  template <typename Effect>
  auto perform(Op op, const std::string& target, nlohmann::json body, Effect&& effect) const;
  void note_error(size_t index, lxd::ErrorKind kind) const;
  void emit(const Events& events) const;

  // Under the lock.
  StoredInstance& instance_locked(const std::string& name) const;  // NotFound
  StoredProfile& profile_locked(const std::string& name) const;    // NotFound
  lxd::Instance view_locked(const StoredInstance& stored) const;   // with status, etag, expansion
  lxd::Profile profile_view_locked(const StoredProfile& stored) const;
  void touch_locked(StoredInstance& stored) const;  // a write: a new ETag
  void start_locked(StoredInstance& stored, Events& events) const;
  void stop_locked(StoredInstance& stored, bool clean, Events& events) const;
  void create_instance_locked(const lxd::InstanceSpec& spec, bool running, Events& events) const;
  std::optional<std::string> image_for_locked(const std::string& ref) const;  // fingerprint

  static lxd::Error error_for(const Fault& fault, Op op);
  static lxd::LifecycleEvent event(std::string_view action, std::string_view collection, const std::string& name);

  const Options options_;

  mutable std::mutex mutex_;
  // LXD's objects are what a call changes; a const call on the handle changes the LXD behind it.
  mutable std::map<std::string, StoredInstance> instances_;
  mutable std::map<std::string, StoredProfile> profiles_;
  mutable std::map<std::string, lxd::Network> networks_;
  mutable std::map<std::string, lxd::Image> images_;       // by fingerprint
  mutable std::map<std::string, std::string> aliases_;     // alias -> fingerprint
  std::map<std::string, std::string> remote_images_;        // "<server> <alias>" -> content
  // Init PIDs above the kernel's largest pid_max (2^22): a signal lxe sends to one reaches no process.
  mutable int64_t next_pid_ = 5000000;
  mutable int64_t next_revision_ = 1;
  std::set<std::string> unclean_shutdown_;  // instances whose clean shutdown does not finish
  mutable std::vector<Call> calls_;
  mutable std::vector<PendingFault> faults_;
  bool reachable_ = true;
  Hook hook_;
  ExecScript exec_script_;
  EventSink event_sink_;
};

std::string_view to_string(MemoryLxd::Op op);

}  // namespace lxe::test
