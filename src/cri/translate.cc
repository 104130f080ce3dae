#include "cri/translate.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "model/ipv4.h"
#include "model/stored_config.h"
#include "reconcile/cni.h"
#include "reconcile/pod_namespaces.h"
#include "reconcile/pod_network.h"

namespace lxe::cri {

using store::ContainerRecord;
using store::SandboxRecord;

namespace {

template <typename Message>
void fill_maps(Message& m, const store::StringMap& labels, const store::StringMap& annotations) {
  for (const auto& [k, v] : labels) (*m.mutable_labels())[k] = v;
  for (const auto& [k, v] : annotations) (*m.mutable_annotations())[k] = v;
}

void fill_sandbox_metadata(runtime::v1::PodSandboxMetadata* m, const SandboxRecord& s) {
  m->set_name(s.name);
  m->set_namespace_(s.namespace_);
  m->set_uid(s.uid);
  m->set_attempt(s.attempt);
}

}  // namespace

runtime::v1::PodSandbox to_pod_sandbox(const SandboxRecord& s) {
  runtime::v1::PodSandbox p;
  p.set_id(s.id);
  fill_sandbox_metadata(p.mutable_metadata(), s);
  p.set_state(sandbox_state(s));
  p.set_created_at(s.created_at);
  fill_maps(p, s.labels, s.annotations);
  p.set_runtime_handler(s.runtime_handler);
  return p;
}

runtime::v1::PodSandboxStatus to_pod_sandbox_status(const SandboxRecord& s) {
  runtime::v1::PodSandboxStatus st;
  st.set_id(s.id);
  fill_sandbox_metadata(st.mutable_metadata(), s);
  st.set_state(sandbox_state(s));
  st.set_created_at(s.created_at);
  // The modes the pod asked for are the ones it has (pod_namespaces.h): the pod's namespaces are
  // held by its namespace holder (POD), or they are the host's (NODE), or for PID each container's
  // own (CONTAINER).
  auto* ns = st.mutable_linux()->mutable_namespaces()->mutable_options();
  const auto modes = s.config_json.empty()
                         ? runtime::v1::NamespaceOption{}
                         : reconcile::effective_pod_namespace_modes(model::parse_sandbox_config(s.config_json));
  ns->set_network(reconcile::in_host_network(s) ? runtime::v1::NODE : runtime::v1::POD);
  ns->set_pid(modes.pid());
  ns->set_ipc(modes.ipc());
  // No `network` without an address: kubelet recreates a sandbox whose network status is present
  // with an empty IP (kuberuntime's PodSandboxChanged), so an empty one would make it replace a
  // healthy pod every sync. A stopped pod has released its address (another pod may hold it now).
  if (!s.pod_ip.empty() && s.desired_state == store::SandboxState::Ready) {
    st.mutable_network()->set_ip(model::address_part(s.pod_ip));
    // CNI may give more than one address (IPv6 next to IPv4): the others are additional_ips.
    if (!s.cni_result.empty()) {
      const auto addresses = reconcile::cni::result_addresses(nlohmann::json::parse(s.cni_result, nullptr, false));
      for (size_t i = 1; i < addresses.size(); ++i)
        st.mutable_network()->add_additional_ips()->set_ip(model::address_part(addresses[i]));
    }
  }
  fill_maps(st, s.labels, s.annotations);
  st.set_runtime_handler(s.runtime_handler);
  return st;
}

runtime::v1::Container to_container(const ContainerRecord& c) {
  runtime::v1::Container out;
  out.set_id(c.id);
  out.set_pod_sandbox_id(c.sandbox_id);
  out.mutable_metadata()->set_name(c.name);
  out.mutable_metadata()->set_attempt(c.attempt);
  out.mutable_image()->set_image(c.image);
  out.set_image_ref(model::image_id_of(c));
  out.set_image_id(model::image_id_of(c));
  out.set_state(container_state(c));
  out.set_created_at(c.created_at);
  fill_maps(out, c.labels, c.annotations);
  return out;
}

namespace {

// Entries of removed containers are not tracked: the cache is emptied when it reaches this size.
constexpr size_t kMaxCachedStatusParts = 4096;

size_t source_hash(const ContainerRecord& c) {
  const size_t h = std::hash<std::string>{}(c.config_json);
  return h ^ (std::hash<std::string>{}(c.resources_json) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

// nlohmann finds the mounts; only they go through protobuf's parser.
void parse_mounts(const std::string& config_json, StatusParts& parts) {
  const auto json = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    parts.problem = "its stored config is not a JSON object";
    return;
  }
  const auto it = json.find("mounts");
  if (it == json.end()) return;
  if (!it->is_array()) {
    parts.problem = "its stored config's mounts are not a list";
    return;
  }
  if (it->empty()) return;
  runtime::v1::ContainerConfig only_mounts;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(nlohmann::json{{"mounts", *it}}.dump(), &only_mounts, options);
  if (!parsed.ok()) {
    parts.problem = "its stored mounts cannot be read (" + parsed.ToString() + ")";
    return;
  }
  parts.mounts.Swap(only_mounts.mutable_mounts());
}

std::shared_ptr<const StatusParts> parse_status_parts(const ContainerRecord& c, size_t hash) {
  auto parts = std::make_shared<StatusParts>();
  parts->source_hash = hash;
  parse_mounts(c.config_json, *parts);
  if (c.resources_json != "{}") {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    parts->resources.emplace();
    const auto parsed = google::protobuf::util::JsonStringToMessage(c.resources_json, &*parts->resources, options);
    if (!parsed.ok() && parts->problem.empty())
      parts->problem = "its stored resources cannot be read (" + parsed.ToString() + ")";
  }
  return parts;
}

}  // namespace

std::shared_ptr<const StatusParts> StatusPartsCache::get(const ContainerRecord& c) {
  const size_t hash = source_hash(c);
  {
    std::lock_guard lock(mutex_);
    const auto it = parts_.find(c.id);
    if (it != parts_.end() && it->second->source_hash == hash) return it->second;
  }
  auto parts = parse_status_parts(c, hash);
  std::lock_guard lock(mutex_);
  if (parts_.size() >= kMaxCachedStatusParts) parts_.clear();
  parts_[c.id] = parts;
  return parts;
}

runtime::v1::ContainerStatus to_container_status(const ContainerRecord& c, StatusPartsCache* cache) {
  runtime::v1::ContainerStatus st;
  st.set_id(c.id);
  st.mutable_metadata()->set_name(c.name);
  st.mutable_metadata()->set_attempt(c.attempt);
  st.set_state(container_state(c));
  st.set_created_at(c.created_at);
  st.set_started_at(c.started_at);
  st.set_finished_at(c.finished_at);
  st.set_exit_code(c.exit_code);
  st.mutable_image()->set_image(c.image);
  st.set_image_ref(model::image_id_of(c));
  st.set_image_id(model::image_id_of(c));
  st.set_reason(c.reason);
  st.set_message(c.message);
  fill_maps(st, c.labels, c.annotations);
  st.set_log_path(c.log_path);
  const auto parts = cache != nullptr ? cache->get(c) : parse_status_parts(c, source_hash(c));
  *st.mutable_mounts() = parts->mounts;
  // The resources in force: the record's, which UpdateContainerResources changes.
  if (parts->resources) *st.mutable_resources()->mutable_linux() = *parts->resources;
  // The identity lxe-init gave the process (HostFiles::read_started_user checked it); none before it ran.
  if (!c.process_user.empty()) {
    const auto user = nlohmann::json::parse(c.process_user, nullptr, /*allow_exceptions=*/false);
    if (user.is_object() && user.value("uid", nlohmann::json()).is_number_unsigned() &&
        user.value("gid", nlohmann::json()).is_number_unsigned() && user.value("groups", nlohmann::json()).is_array()) {
      auto* ids = st.mutable_user()->mutable_linux();
      ids->set_uid(user["uid"].get<int64_t>());
      ids->set_gid(user["gid"].get<int64_t>());
      for (const auto& g : user["groups"])
        if (g.is_number_unsigned()) ids->add_supplemental_groups(g.get<int64_t>());
    }
  }
  return st;
}

bool labels_match(const store::StringMap& labels, const google::protobuf::Map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    const auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::variant<std::monostate, std::string, Ambiguous> resolve_id(const std::string& wanted,
                                                                const std::vector<std::string>& ids,
                                                                const char* what) {
  std::vector<std::string> matches;
  for (const auto& id : ids) {
    if (id == wanted) return id;
    if (id.rfind(wanted, 0) == 0) matches.push_back(id);
  }
  if (matches.empty()) return std::monostate{};
  if (matches.size() == 1) return matches[0];
  return Ambiguous{"ID prefix '" + wanted + "' matches " + std::to_string(matches.size()) + " " + what +
                   "s; give more of the ID"};
}

}  // namespace lxe::cri
