// Records to CRI messages, CRI filters, and ID lookup. Pure functions over store records.
#pragma once

#include <google/protobuf/map.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::cri {

// CRI image IDs for an LXD image fingerprint: "sha256:<fingerprint>", as ImageService reports.
std::string image_id(const std::string& fingerprint);

runtime::v1::PodSandboxState sandbox_state(const store::SandboxRecord& s);
runtime::v1::ContainerState container_state(const store::ContainerRecord& c);

runtime::v1::PodSandbox to_pod_sandbox(const store::SandboxRecord& s);
runtime::v1::PodSandboxStatus to_pod_sandbox_status(const store::SandboxRecord& s);
runtime::v1::Container to_container(const store::ContainerRecord& c);
runtime::v1::ContainerStatus to_container_status(const store::ContainerRecord& c);

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
