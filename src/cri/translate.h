// Records to CRI messages, CRI filters, and ID lookup. Pure functions over store records (and one
// cache of parsed JSON, owned by its caller).
#pragma once

#include <google/protobuf/map.h>

#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <variant>
#include <vector>

#include "model/cri_states.h"
#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::cri {

// The CRI states and image IDs of records (model/cri_states.h), as the facade names them.
using model::container_state;
using model::image_id;
using model::sandbox_state;

runtime::v1::PodSandbox to_pod_sandbox(const store::SandboxRecord& s);
runtime::v1::PodSandboxStatus to_pod_sandbox_status(const store::SandboxRecord& s);
runtime::v1::Container to_container(const store::ContainerRecord& c);
// What ContainerStatus takes from a record's JSON: the mounts of its ContainerConfig and the
// resources in force. Protobuf's JSON parser costs tens of µs a call, more than the rest of a
// ContainerStatus call, and kubelet polls it.
struct StatusParts {
  size_t source_hash = 0;  // of the JSON they came from (UpdateContainerResources changes it)
  google::protobuf::RepeatedPtrField<runtime::v1::Mount> mounts;
  std::optional<runtime::v1::LinuxContainerResources> resources;  // absent when the record has none
  // Why the record's stored JSON could not be read ("" when it could): lxe's own data gone bad,
  // which ContainerStatus answers with DATA_LOSS naming the record, never with empty values.
  std::string problem;
};

// Each container's StatusParts, parsed once and kept by container ID until its JSON changes.
// Owned by the RuntimeService; thread-safe. Entries of removed containers are not tracked: the
// cache is emptied when it grows past a few thousand entries.
class StatusPartsCache {
 public:
  std::shared_ptr<const StatusParts> get(const store::ContainerRecord& c);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const StatusParts>> parts_;
};

// With a cache, the record's JSON is parsed only when it changed; without, on every call.
runtime::v1::ContainerStatus to_container_status(const store::ContainerRecord& c, StatusPartsCache* cache = nullptr);

// A label selector matches when every key=value in it is among the labels.
bool labels_match(const store::StringMap& labels,
                  const google::protobuf::Map<std::string, std::string>& selector);

// Looks a CRI ID up among `ids`: an exact match, or else a unique prefix (crictl users type the
// short IDs `crictl ps` shows). Returns the full ID, nothing when none matches, or an error
// message when the prefix is ambiguous.
struct Ambiguous {
  std::string message;
};
std::variant<std::monostate, std::string, Ambiguous> resolve_id(const std::string& wanted,
                                                                const std::vector<std::string>& ids,
                                                                const char* what);

}  // namespace lxe::cri
