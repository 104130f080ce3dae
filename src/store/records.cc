#include "store/records.h"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "store/error.h"

namespace lxe::store {
namespace {

template <typename Enum, size_t N>
using Spellings = std::array<std::pair<Enum, std::string_view>, N>;

constexpr Spellings<SandboxState, 3> kSandboxStates{{
    {SandboxState::Ready, "ready"}, {SandboxState::NotReady, "notready"}, {SandboxState::Removed, "removed"}}};
constexpr Spellings<SandboxObserved, 4> kSandboxObserved{{{SandboxObserved::Unknown, "unknown"},
                                                          {SandboxObserved::Absent, "absent"},
                                                          {SandboxObserved::Ready, "ready"},
                                                          {SandboxObserved::NotReady, "notready"}}};
constexpr Spellings<ContainerState, 4> kContainerStates{{{ContainerState::Created, "created"},
                                                         {ContainerState::Running, "running"},
                                                         {ContainerState::Exited, "exited"},
                                                         {ContainerState::Removed, "removed"}}};
constexpr Spellings<ContainerObserved, 5> kContainerObserved{{{ContainerObserved::Unknown, "unknown"},
                                                              {ContainerObserved::Absent, "absent"},
                                                              {ContainerObserved::Created, "created"},
                                                              {ContainerObserved::Running, "running"},
                                                              {ContainerObserved::Exited, "exited"}}};
constexpr Spellings<FailureKind, 5> kFailureKinds{{{FailureKind::None, ""},
                                                   {FailureKind::Unavailable, "unavailable"},
                                                   {FailureKind::Busy, "busy"},
                                                   {FailureKind::Refused, "refused"},
                                                   {FailureKind::Host, "host"}}};
constexpr Spellings<PodNamespaces, 2> kPodNamespaces{
    {{PodNamespaces::Holder, "holder"}, {PodNamespaces::Pinned, "pinned"}}};
constexpr Spellings<ObjectKind, 2> kObjectKinds{{{ObjectKind::Sandbox, "sandbox"}, {ObjectKind::Container, "container"}}};
constexpr Spellings<EventOutcome, 3> kOutcomes{
    {{EventOutcome::Ok, "ok"}, {EventOutcome::Error, "error"}, {EventOutcome::Info, "info"}}};

template <typename Enum, size_t N>
std::string_view spell(const Spellings<Enum, N>& table, Enum value) {
  for (const auto& [e, s] : table)
    if (e == value) return s;
  return "invalid";
}

template <typename Enum, size_t N>
Enum parse(const Spellings<Enum, N>& table, std::string_view text, const char* what) {
  for (const auto& [e, s] : table)
    if (s == text) return e;
  throw StoreError(StoreError::Kind::Sql, std::string("store holds an unknown ") + what + " '" +
                                              std::string(text) + "'");
}

}  // namespace

std::string_view to_string(SandboxState s) { return spell(kSandboxStates, s); }
std::string_view to_string(SandboxObserved s) { return spell(kSandboxObserved, s); }
std::string_view to_string(ContainerState s) { return spell(kContainerStates, s); }
std::string_view to_string(ContainerObserved s) { return spell(kContainerObserved, s); }
std::string_view to_string(FailureKind k) { return spell(kFailureKinds, k); }
std::string_view to_string(PodNamespaces p) { return spell(kPodNamespaces, p); }
std::string_view to_string(ObjectKind k) { return spell(kObjectKinds, k); }
std::string_view to_string(EventOutcome o) { return spell(kOutcomes, o); }

SandboxState parse_sandbox_state(std::string_view s) { return parse(kSandboxStates, s, "sandbox state"); }
SandboxObserved parse_sandbox_observed(std::string_view s) {
  return parse(kSandboxObserved, s, "observed sandbox state");
}
ContainerState parse_container_state(std::string_view s) {
  return parse(kContainerStates, s, "container state");
}
ContainerObserved parse_container_observed(std::string_view s) {
  return parse(kContainerObserved, s, "observed container state");
}
FailureKind parse_failure_kind(std::string_view s) { return parse(kFailureKinds, s, "failure kind"); }
PodNamespaces parse_pod_namespaces(std::string_view s) { return parse(kPodNamespaces, s, "pod namespace keeper"); }
ObjectKind parse_object_kind(std::string_view s) { return parse(kObjectKinds, s, "object kind"); }
EventOutcome parse_event_outcome(std::string_view s) { return parse(kOutcomes, s, "event outcome"); }

std::string to_json(const StringMap& map) { return nlohmann::json(map).dump(); }

StringMap string_map_from_json(const std::string& json) {
  try {
    return nlohmann::json::parse(json).get<StringMap>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(StoreError::Kind::Sql, std::string("store holds a malformed string map: ") + e.what());
  }
}

std::string to_json(const std::vector<std::string>& list) { return nlohmann::json(list).dump(); }

std::vector<std::string> string_list_from_json(const std::string& json) {
  try {
    return nlohmann::json::parse(json).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(StoreError::Kind::Sql, std::string("store holds a malformed string list: ") + e.what());
  }
}

}  // namespace lxe::store
