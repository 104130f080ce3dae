// The records the store keeps: what CRI said a pod sandbox or container is and should be (desired),
// and what the reconciler last saw of it in LXD (observed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lxe::store {

using StringMap = std::map<std::string, std::string>;

enum class SandboxState { Ready, NotReady, Removed };
enum class SandboxObserved { Unknown, Absent, Ready, NotReady };
enum class ContainerState { Created, Running, Exited, Removed };
enum class ContainerObserved { Unknown, Absent, Created, Running, Exited };

// Who keeps a pod's shared namespaces (migrations/0008): a holder container (an LXD container
// whose init, lxe-init pause, is the infra PID) or lxe itself, by bind mounts of the namespace
// files (reconcile/pinned_namespaces.h).
enum class PodNamespaces { Holder, Pinned };

// What kind of failure a record's last_error is, as the layer that failed classified it (never
// read back from the message): the CRI facade picks a status code by it, the reconciler and
// waiting callers decide by it whether to keep waiting.
enum class FailureKind {
  None,         // no failure recorded
  Unavailable,  // LXD did not answer (socket gone, timeout): retried; callers get UNAVAILABLE
  Busy,         // LXD is busy with another operation on the object for a moment: retried; callers wait on
  Refused,      // LXD refused the request, or its operation failed
  Host,         // a step on the host (files, mounts, lxe's own data) failed
};

// The spelling used in the database (and by lxe-ctl).
std::string_view to_string(SandboxState s);
std::string_view to_string(SandboxObserved s);
std::string_view to_string(ContainerState s);
std::string_view to_string(ContainerObserved s);
std::string_view to_string(FailureKind k);  // "" for None
std::string_view to_string(PodNamespaces p);
// Parsers throw StoreError{Sql} on a spelling the schema's CHECK constraints would not allow.
SandboxState parse_sandbox_state(std::string_view s);
SandboxObserved parse_sandbox_observed(std::string_view s);
ContainerState parse_container_state(std::string_view s);
ContainerObserved parse_container_observed(std::string_view s);
FailureKind parse_failure_kind(std::string_view s);
PodNamespaces parse_pod_namespaces(std::string_view s);

// The reconcile bookkeeping both kinds of record carry: which generation of the desired state the
// reconciler has to reach and has reached, and how its last attempt failed.
struct ReconcileProgress {
  int64_t generation = 1;
  int64_t observed_generation = 0;
  std::string last_error;
  FailureKind last_error_kind = FailureKind::None;

  // The desired state changed: the reconciler has a new generation to reach, and a failure of an
  // earlier generation is no longer the answer a caller of this one gets.
  void new_generation() {
    generation += 1;
    clear_failure();
  }
  void set_failure(FailureKind kind, std::string message) {
    last_error_kind = kind;
    last_error = std::move(message);
  }
  void clear_failure() {
    last_error_kind = FailureKind::None;
    last_error.clear();
  }
};

struct SandboxRecord : ReconcileProgress {
  std::string id;
  std::string name;
  std::string namespace_;
  std::string uid;
  uint32_t attempt = 0;
  std::string lxd_name;
  std::string runtime_handler;
  StringMap labels;
  StringMap annotations;
  std::string config_json;
  int64_t infra_pid = 0;
  int64_t created_at = 0;
  SandboxState desired_state = SandboxState::Ready;
  SandboxObserved observed_state = SandboxObserved::Unknown;
  // The pod's network, set when it is recorded and never changed (see migrations/0003): "" (loopback
  // only) or "bridge:<LXD network>", and its address there with the prefix ("10.233.0.5/16").
  std::string pod_network;
  std::string pod_ip;
  // CNI mode (migrations/0004): the network list the pod is set up with (JSON), how far ADD got
  // ("", "adding", "added") and ADD's result (JSON). pod_ip is set from the result.
  std::string cni_network;
  std::string cni_state;
  std::string cni_result;
  // The pod's own resources (LinuxContainerResources JSON; migrations/0007): a ceiling on each of
  // its containers' limits. "{}" is none.
  std::string resources_json = "{}";
  // Who keeps the pod's namespaces, chosen when it is recorded and never changed; for a pinned
  // pod, the inode of its network namespace once lxe made it (0 before). infra_pid is a holder's.
  PodNamespaces pod_namespaces = PodNamespaces::Holder;
  int64_t pinned_netns = 0;
  int64_t updated_at = 0;
};

// Whether the pod's namespaces were made (the holder ran, or lxe pinned them): containers can join.
inline bool pod_namespaces_made(const SandboxRecord& s) {
  return s.pod_namespaces == PodNamespaces::Pinned ? s.pinned_netns != 0 : s.infra_pid != 0;
}

struct ContainerRecord : ReconcileProgress {
  std::string id;
  std::string sandbox_id;
  std::string name;
  uint32_t attempt = 0;
  std::string lxd_name;
  std::string image;      // the image as CreateContainer named it
  std::string image_ref;  // the LXD image fingerprint it is created from
  // The CRI image ID when lxe pulled the image ("" otherwise: the ID is "sha256:" + image_ref), and
  // the image's defaults (model/image_config.h, JSON) copied at CreateContainer ("" for an LXD image).
  std::string image_id;
  std::string image_defaults;
  // The Localhost seccomp profile kept at CreateContainer (JSON; "" for none), never changed; and
  // the identity lxe-init gave the process (started.json's user, JSON; "" until it ran). See
  // migrations/0006.
  std::string seccomp_profile;
  std::string process_user;
  StringMap labels;
  StringMap annotations;
  std::string config_json;
  std::string resources_json = "{}";
  std::string log_path;
  int64_t stop_timeout = 0;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int32_t exit_code = 0;
  std::string reason;
  std::string message;
  ContainerState desired_state = ContainerState::Created;
  ContainerObserved observed_state = ContainerObserved::Unknown;
  int64_t updated_at = 0;
};

// Removed for CRI: the object's removal reached the point a Remove call answers at (a container's
// processes are gone; a pod's containers removed so, its network torn down and its holder
// stopped). LXD deletes what is left (instance, holder, profile) afterwards, off the caller's path;
// until then the record stays so that the reconciler (and recovery after a crash) finishes it,
// but CRI no longer shows it, and its name and attempt are free again.
// A container already observed exited is removed for CRI as soon as its removal is recorded: CRI
// asks a removal to kill only a running container, and its exit is recorded (the reconciler still
// kills whatever an exec left in it before the delete).
inline bool removed_for_cri(const SandboxRecord& s) {
  return s.desired_state == SandboxState::Removed && s.observed_generation >= s.generation;
}
inline bool removed_for_cri(const ContainerRecord& c) {
  return c.desired_state == ContainerState::Removed &&
         (c.observed_generation >= c.generation || c.observed_state == ContainerObserved::Exited);
}

// An image lxe pulled (migrations/0005): its CRI identity; LXD holds the image itself.
struct ImageRecord {
  std::string id;  // "sha256:<hex>"
  std::string lxd_fingerprint;
  std::string source = "oci";  // "oci" or "lxd"
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  int64_t size = 0;
  std::string defaults = "{}";  // JSON (model/image_config.h); "{}" for LXD images
  int64_t pulled_at = 0;
};

enum class ObjectKind { Sandbox, Container };
enum class EventOutcome { Ok, Error, Info };
std::string_view to_string(ObjectKind k);
std::string_view to_string(EventOutcome o);
ObjectKind parse_object_kind(std::string_view s);
EventOutcome parse_event_outcome(std::string_view s);

struct ReconcileEvent {
  int64_t seq = 0;  // assigned by the store
  int64_t at = 0;
  ObjectKind object_kind = ObjectKind::Container;
  std::string object_id;
  int64_t generation = 0;
  std::string action;
  EventOutcome outcome = EventOutcome::Ok;
  std::string detail;
};

struct EventQuery {
  std::optional<std::string> object_id;
  int64_t after_seq = 0;   // only events with seq > after_seq
  int64_t since_ns = 0;    // only events at or after this time
  int limit = 1000;
};

// Labels and annotations travel as JSON objects of strings.
std::string to_json(const StringMap& map);
StringMap string_map_from_json(const std::string& json);
// Repo tags and digests as JSON arrays of strings.
std::string to_json(const std::vector<std::string>& list);
std::vector<std::string> string_list_from_json(const std::string& json);

}  // namespace lxe::store
