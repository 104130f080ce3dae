#include "ctl/views.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>

#include "model/cri_states.h"
#include "model/ipv4.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/pod_network.h"

namespace lxe::ctl {

using store::ContainerRecord;
using store::ReconcileEvent;
using store::SandboxRecord;

namespace {

constexpr size_t kErrorWidth = 60;

nlohmann::json map_json(const store::StringMap& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// A stored JSON text as JSON; the text itself when it does not parse (nothing is hidden).
nlohmann::json stored_json(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception&) {
    return text;
  }
}

std::string proto_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

Color state_color(const std::string& cri) {
  if (cri == "CONTAINER_RUNNING" || cri == "SANDBOX_READY") return Color::Green;
  if (cri == "CONTAINER_EXITED" || cri == "SANDBOX_NOTREADY") return Color::Yellow;
  if (cri == "CONTAINER_UNKNOWN") return Color::Red;
  return Color::Cyan;
}

std::string dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string joined_map(const store::StringMap& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : "\n") + k + "=" + v;
  return out;
}

// "start-instance: ... (LXD refused)": the message with what kind of failure it is.
std::string with_kind(const std::string& error, store::FailureKind kind) {
  switch (kind) {
    case store::FailureKind::None: return error;
    case store::FailureKind::Unavailable: return error + " (LXD did not answer)";
    case store::FailureKind::Busy: return error + " (LXD busy; retrying)";
    case store::FailureKind::Refused: return error + " (LXD refused)";
    case store::FailureKind::Host: return error + " (on the host)";
  }
  return error;
}

std::string when(int64_t ns, int64_t now_ns) {
  if (ns == 0) return "-";
  return short_time(ns) + " (" + human_age(ns, now_ns) + " ago)";
}

nlohmann::json events_json(const std::vector<ReconcileEvent>& events) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events) out.push_back(event_json(e));
  return out;
}

std::string events_text(const std::vector<ReconcileEvent>& events) {
  size_t seq_width = 0, action_width = 0;
  for (const auto& e : events) {
    seq_width = std::max(seq_width, std::to_string(e.seq).size());
    action_width = std::max(action_width, e.action.size());
  }
  std::string out;
  for (const auto& e : events) {
    const std::string seq = std::to_string(e.seq);
    std::string line = std::string(seq_width - seq.size(), ' ') + seq + "  " + short_time(e.at) + "  gen " +
                       std::to_string(e.generation) + "  " + e.action + std::string(action_width - e.action.size(), ' ') +
                       "  " + std::string(to_string(e.outcome)) + (e.detail.empty() ? "" : "  " + one_line(e.detail, 100));
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

// The resources that are set, as "memoryLimitInBytes=67108864, cpuQuota=50000".
std::string resources_text(const nlohmann::json& resources) {
  if (!resources.is_object()) return resources.is_null() ? "none" : resources.dump();
  std::string out;
  for (const auto& [k, v] : resources.items()) {
    if (v.is_null() || (v.is_string() && (v.get<std::string>().empty() || v.get<std::string>() == "0")) ||
        (v.is_number() && v.get<double>() == 0) || ((v.is_array() || v.is_object()) && v.empty()))
      continue;
    out += (out.empty() ? "" : ", ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out.empty() ? "none" : out;
}

// The limits.* keys lxe manages, as the instance has them.
nlohmann::json live_limits(const lxd::Instance& instance) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, _] : reconcile::managed_limits({})) {
    const auto it = instance.config.find(key);
    out[key] = it == instance.config.end() ? "" : it->second;
  }
  return out;
}

nlohmann::json live_json(const LxdLive& live) {
  nlohmann::json out = nlohmann::json::object();
  if (!live.instance) {
    out["instance"] = nullptr;
  } else {
    const auto& i = *live.instance;
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& [name, _] : i.devices) devices.push_back(name);
    out["instance"] = {{"name", i.name},       {"status", i.status},   {"profiles", i.profiles},
                       {"limits", live_limits(i)}, {"devices", devices}, {"createdAt", i.created_at}};
  }
  if (live.profile_exists) out["profileExists"] = *live.profile_exists;
  return out;
}

std::string live_text(const LxdLive& live) {
  if (!live.instance) return "instance: not in LXD";
  const auto& i = *live.instance;
  std::string out = "instance: " + i.status;
  std::string limits;
  const nlohmann::json limits_in_force = live_limits(i);
  for (const auto& [k, v] : limits_in_force.items())
    if (!v.get<std::string>().empty()) limits += (limits.empty() ? "" : ", ") + k + "=" + v.get<std::string>();
  out += "\nlimits: " + (limits.empty() ? std::string("none") : limits);
  std::string devices;
  for (const auto& [name, _] : i.devices) devices += (devices.empty() ? "" : ", ") + name;
  out += "\ndevices: " + (devices.empty() ? std::string("none") : devices);
  if (live.profile_exists) out += std::string("\nprofile: ") + (*live.profile_exists ? "present" : "not in LXD");
  return out;
}

}  // namespace

std::string cri_state(const SandboxRecord& s) { return runtime::v1::PodSandboxState_Name(model::sandbox_state(s)); }

std::string cri_state(const ContainerRecord& c) { return runtime::v1::ContainerState_Name(model::container_state(c)); }

std::string cri_image_ref(const std::string& fingerprint) { return model::image_id(fingerprint); }

namespace {

bool labels_match(const store::StringMap& labels, const std::vector<std::pair<std::string, std::string>>& wanted) {
  for (const auto& [k, v] : wanted) {
    const auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool pod_matches(const std::string& sandbox_id, const SandboxRecord* pod, const std::string& wanted) {
  if (sandbox_id.rfind(wanted, 0) == 0) return true;
  return pod && pod->name == wanted;
}

}  // namespace

bool matches(const SandboxRecord& s, const ListFilters& f) {
  if (f.state && cri_state(s) != *f.state) return false;
  if (f.pod && !pod_matches(s.id, &s, *f.pod)) return false;
  if (f.namespace_ && s.namespace_ != *f.namespace_) return false;
  return labels_match(s.labels, f.labels);
}

bool matches(const ContainerRecord& c, const SandboxRecord* pod, const ListFilters& f) {
  if (f.state && cri_state(c) != *f.state) return false;
  if (f.pod && !pod_matches(c.sandbox_id, pod, *f.pod)) return false;
  if (f.namespace_ && (!pod || pod->namespace_ != *f.namespace_)) return false;
  if (f.name && c.name != *f.name) return false;
  return labels_match(c.labels, f.labels);
}

// "bridge <name>", "host" or "none (loopback only)", for people; the IP kubelet sees ("" once
// released).
std::string network_mode(const SandboxRecord& s) {
  if (reconcile::in_host_network(s)) return "host";
  if (reconcile::set_up_by_cni(s)) return "cni " + s.pod_network.substr(4);
  const std::string bridge = reconcile::bridge_of(s.pod_network);
  return bridge.empty() ? "none (loopback only)" : "bridge " + bridge;
}
std::string pod_ip_shown(const SandboxRecord& s) {
  return s.desired_state == store::SandboxState::Ready ? model::address_part(s.pod_ip) : "";
}

nlohmann::json sandbox_json(const SandboxRecord& s, size_t container_count) {
  return {
      {"id", s.id},
      {"metadata", {{"name", s.name}, {"namespace", s.namespace_}, {"uid", s.uid}, {"attempt", s.attempt}}},
      {"state", cri_state(s)},
      {"createdAt", time_json(s.created_at)},
      {"labels", map_json(s.labels)},
      {"annotations", map_json(s.annotations)},
      {"runtimeHandler", s.runtime_handler},
      {"desiredState", to_string(s.desired_state)},
      {"observedState", to_string(s.observed_state)},
      {"generation", s.generation},
      {"observedGeneration", s.observed_generation},
      {"lastError", s.last_error},
      {"lastErrorKind", to_string(s.last_error_kind)},
      {"infraPid", s.infra_pid},
      {"podNamespaces", to_string(s.pod_namespaces)},
      {"pinnedNetns", s.pinned_netns},
      {"network", {{"mode", network_mode(s)}, {"ip", pod_ip_shown(s)}, {"address", s.pod_ip}}},
      {"lxdName", s.lxd_name},
      {"containerCount", container_count},
  };
}

nlohmann::json container_json(const ContainerRecord& c, const SandboxRecord* pod) {
  nlohmann::json pod_json = nullptr;
  if (pod) pod_json = {{"name", pod->name}, {"namespace", pod->namespace_}, {"uid", pod->uid}};
  return {
      {"id", c.id},
      {"podSandboxId", c.sandbox_id},
      {"metadata", {{"name", c.name}, {"attempt", c.attempt}}},
      {"image", {{"image", c.image}}},
      {"imageRef", model::image_id_of(c)},
      {"state", cri_state(c)},
      {"createdAt", time_json(c.created_at)},
      {"startedAt", time_json(c.started_at)},
      {"finishedAt", time_json(c.finished_at)},
      {"exitCode", c.exit_code},
      {"reason", c.reason},
      {"message", c.message},
      {"labels", map_json(c.labels)},
      {"annotations", map_json(c.annotations)},
      {"pod", pod_json},
      {"desiredState", to_string(c.desired_state)},
      {"observedState", to_string(c.observed_state)},
      {"generation", c.generation},
      {"observedGeneration", c.observed_generation},
      {"lastError", c.last_error},
      {"lastErrorKind", to_string(c.last_error_kind)},
      {"logPath", c.log_path},
      {"lxdName", c.lxd_name},
  };
}

Table sandbox_table(const std::vector<SandboxRecord>& sandboxes, const std::vector<size_t>& container_counts,
                    int64_t now_ns) {
  Table t({"POD ID", "NAME", "NAMESPACE", "ATTEMPT", "STATE", "DESIRED", "OBSERVED", "IP", "CONTAINERS", "AGE",
           "LAST ERROR"});
  for (size_t i = 0; i < sandboxes.size(); ++i) {
    const auto& s = sandboxes[i];
    const std::string state = cri_state(s);
    t.add({{short_id(s.id)},
           {s.name},
           {s.namespace_},
           {std::to_string(s.attempt)},
           {state, state_color(state)},
           {std::string(to_string(s.desired_state))},
           {std::string(to_string(s.observed_state))},
           {dash(pod_ip_shown(s))},
           {std::to_string(i < container_counts.size() ? container_counts[i] : 0)},
           {human_age(s.created_at, now_ns)},
           {dash(one_line(s.last_error, kErrorWidth)), Color::Red}});
  }
  return t;
}

Table container_table(const std::vector<ContainerRecord>& containers, const std::vector<const SandboxRecord*>& pods,
                      int64_t now_ns) {
  Table t({"CONTAINER ID", "NAME", "ATTEMPT", "NAMESPACE", "POD", "IMAGE", "STATE", "DESIRED", "OBSERVED", "AGE",
           "LAST ERROR"});
  for (size_t i = 0; i < containers.size(); ++i) {
    const auto& c = containers[i];
    const SandboxRecord* pod = i < pods.size() ? pods[i] : nullptr;
    const std::string state = cri_state(c);
    t.add({{short_id(c.id)},
           {c.name},
           {std::to_string(c.attempt)},
           {pod ? pod->namespace_ : "-"},
           {pod ? pod->name : short_id(c.sandbox_id)},
           {c.image},
           {state, state_color(state)},
           {std::string(to_string(c.desired_state))},
           {std::string(to_string(c.observed_state))},
           {human_age(c.created_at, now_ns)},
           {dash(one_line(c.last_error, kErrorWidth)), Color::Red}});
  }
  return t;
}

std::variant<Target, LookupError> resolve_target(const std::string& wanted, const std::vector<SandboxRecord>& sandboxes,
                                                 const std::vector<ContainerRecord>& containers,
                                                 const std::vector<Target>& history) {
  std::vector<Target> matches;
  auto consider = [&](store::ObjectKind kind, const std::string& id) {
    if (id.rfind(wanted, 0) != 0) return;
    for (const auto& m : matches)
      if (m.id == id) return;
    matches.push_back({kind, id});
  };
  for (const auto& s : sandboxes)
    if (s.id == wanted || s.lxd_name == wanted) return Target{store::ObjectKind::Sandbox, s.id};
  for (const auto& c : containers)
    if (c.id == wanted || c.lxd_name == wanted) return Target{store::ObjectKind::Container, c.id};
  for (const auto& h : history)
    if (h.id == wanted) return h;
  for (const auto& s : sandboxes) consider(store::ObjectKind::Sandbox, s.id);
  for (const auto& c : containers) consider(store::ObjectKind::Container, c.id);
  for (const auto& h : history) consider(h.kind, h.id);
  if (matches.size() == 1) return matches[0];
  if (matches.empty())
    return LookupError{"no pod sandbox or container with ID '" + wanted + "' in the store" +
                           (history.empty() ? "" : " or its event log"),
                       false};
  std::string names;
  for (size_t i = 0; i < matches.size() && i < 5; ++i)
    names += (i ? ", " : "") + std::string(to_string(matches[i].kind)) + " " + short_id(matches[i].id);
  if (matches.size() > 5) names += ", ...";
  return LookupError{"ID prefix '" + wanted + "' is ambiguous: it matches " + std::to_string(matches.size()) +
                         " objects (" + names + "); give more of the ID",
                     true};
}

nlohmann::json resources_json(const ContainerRecord& c) {
  if (c.resources_json.empty() || c.resources_json == "{}") return nullptr;
  runtime::v1::LinuxContainerResources r;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(c.resources_json, &r, options).ok())
    return stored_json(c.resources_json);
  return stored_json(proto_json(r));
}

nlohmann::json sandbox_detail_json(const SandboxRecord& s, const std::vector<ContainerRecord>& containers,
                                   const std::vector<ReconcileEvent>& recent_events,
                                   const std::optional<LxdLive>& live) {
  nlohmann::json out = {{"kind", "sandbox"}};
  out.update(sandbox_json(s, containers.size()));
  nlohmann::json members = nlohmann::json::array();
  for (const auto& c : containers)
    members.push_back({{"id", c.id}, {"name", c.name}, {"attempt", c.attempt}, {"state", cri_state(c)}});
  out["containers"] = members;
  out["updatedAt"] = time_json(s.updated_at);
  out["lxd"] = {{"profile", s.lxd_name}, {"instance", s.lxd_name}};
  out["config"] = stored_json(s.config_json);
  out["recentEvents"] = events_json(recent_events);
  if (live) out["lxdLive"] = live_json(*live);
  return out;
}

nlohmann::json container_detail_json(const ContainerRecord& c, const SandboxRecord* pod,
                                     const std::vector<ReconcileEvent>& recent_events,
                                     const std::optional<LxdLive>& live) {
  nlohmann::json out = {{"kind", "container"}};
  out.update(container_json(c, pod));
  out["imageId"] = model::image_id_of(c);
  out["imageFingerprint"] = c.image_ref;
  nlohmann::json mounts = nlohmann::json::array();
  try {
    const auto config = model::parse_container_config(c.config_json);
    for (const auto& m : config.mounts()) mounts.push_back(stored_json(proto_json(m)));
  } catch (const std::exception&) {
  }
  out["mounts"] = mounts;
  out["resources"] = resources_json(c).is_null() ? nlohmann::json(nullptr) : nlohmann::json{{"linux", resources_json(c)}};
  out["stopTimeout"] = c.stop_timeout;
  out["updatedAt"] = time_json(c.updated_at);
  out["lxd"] = {{"instance", c.lxd_name},
                {"profiles", pod ? nlohmann::json::array({"default", pod->lxd_name}) : nlohmann::json::array()}};
  out["config"] = stored_json(c.config_json);
  out["recentEvents"] = events_json(recent_events);
  if (live) out["lxdLive"] = live_json(*live);
  return out;
}

std::string sandbox_detail_text(const SandboxRecord& s, const std::vector<ContainerRecord>& containers,
                                const std::vector<ReconcileEvent>& recent_events, const std::optional<LxdLive>& live,
                                int64_t now_ns, bool color) {
  const std::string state = cri_state(s);
  std::string members;
  for (const auto& c : containers)
    members += (members.empty() ? "" : "\n") + short_id(c.id) + "  " + c.name + "  attempt " +
               std::to_string(c.attempt) + "  " + cri_state(c);
  std::vector<std::pair<std::string, Cell>> kv = {
      {"Pod sandbox", {s.id}},
      {"Name", {s.namespace_ + "/" + s.name + " (attempt " + std::to_string(s.attempt) + ")"}},
      {"UID", {s.uid}},
      {"State", {state, state_color(state)}},
      {"Desired", {std::string(to_string(s.desired_state)) + " (generation " + std::to_string(s.generation) + ")"}},
      {"Observed", {std::string(to_string(s.observed_state)) + " (observed generation " +
                    std::to_string(s.observed_generation) + ")"}},
      {"Last error", {with_kind(s.last_error, s.last_error_kind), Color::Red}},
      {"Created", {when(s.created_at, now_ns)}},
      {"Updated", {when(s.updated_at, now_ns)}},
      {"Runtime handler", {s.runtime_handler}},
      {"Namespaces", {s.pod_namespaces == store::PodNamespaces::Pinned
                          ? "pinned by lxe" + (s.pinned_netns == 0 ? std::string(" (not yet)")
                                                                   : ", network namespace inode " + std::to_string(s.pinned_netns))
                          : "namespace holder"}},
      {"Infra PID", {s.infra_pid == 0 ? "" : std::to_string(s.infra_pid)}},
      {"Network", {network_mode(s) + (s.pod_ip.empty() ? "" : ", address " + s.pod_ip +
                                                               (pod_ip_shown(s).empty() ? " (released)" : ""))}},
      {"LXD profile", {s.lxd_name}},
      {"LXD instance", {s.pod_namespaces == store::PodNamespaces::Pinned ? "" : s.lxd_name + " (namespace holder)"}},
      {"Containers", {members}},
      {"Labels", {joined_map(s.labels)}},
      {"Annotations", {joined_map(s.annotations)}},
      {"Config", {stored_json(s.config_json).dump(2)}},
      {"Recent events", {events_text(recent_events)}},
  };
  if (live) kv.push_back({"LXD now", {live_text(*live)}});
  return render_key_values(kv, color);
}

std::string container_detail_text(const ContainerRecord& c, const SandboxRecord* pod,
                                  const std::vector<ReconcileEvent>& recent_events,
                                  const std::optional<LxdLive>& live, int64_t now_ns, bool color) {
  const std::string state = cri_state(c);
  const bool finished = c.finished_at != 0;
  const nlohmann::json resources = resources_json(c);
  std::string mounts;
  try {
    const auto config = model::parse_container_config(c.config_json);
    for (const auto& m : config.mounts())
      mounts += (mounts.empty() ? "" : "\n") + m.host_path() + " -> " + m.container_path() +
                (m.readonly() ? " (ro)" : "");
  } catch (const std::exception&) {
  }
  std::vector<std::pair<std::string, Cell>> kv = {
      {"Container", {c.id}},
      {"Name", {c.name + " (attempt " + std::to_string(c.attempt) + ")"}},
      {"Pod", {pod ? pod->namespace_ + "/" + pod->name + " (" + short_id(c.sandbox_id) + ")" : c.sandbox_id}},
      {"Image", {c.image}},
      {"Image ref", {model::image_id_of(c)}},
      {"State", {state, state_color(state)}},
      {"Desired", {std::string(to_string(c.desired_state)) + " (generation " + std::to_string(c.generation) + ")"}},
      {"Observed", {std::string(to_string(c.observed_state)) + " (observed generation " +
                    std::to_string(c.observed_generation) + ")"}},
      {"Last error", {with_kind(c.last_error, c.last_error_kind), Color::Red}},
      {"Created", {when(c.created_at, now_ns)}},
      {"Started", {when(c.started_at, now_ns)}},
      {"Finished", {when(c.finished_at, now_ns)}},
      {"Exit code", {finished ? std::to_string(c.exit_code) : ""}},
      {"Reason", {c.reason}},
      {"Message", {c.message}},
      {"Log path", {c.log_path}},
      {"Stop timeout", {std::to_string(c.stop_timeout) + "s"}},
      {"Resources", {resources_text(resources)}},
      {"LXD instance", {c.lxd_name}},
      {"LXD profiles", {pod ? "default, " + pod->lxd_name : ""}},
      {"Mounts", {mounts}},
      {"Labels", {joined_map(c.labels)}},
      {"Annotations", {joined_map(c.annotations)}},
      {"Config", {stored_json(c.config_json).dump(2)}},
      {"Recent events", {events_text(recent_events)}},
  };
  if (live) kv.push_back({"LXD now", {live_text(*live)}});
  return render_key_values(kv, color);
}

nlohmann::json event_json(const ReconcileEvent& e) {
  return {{"seq", e.seq},
          {"time", time_json(e.at)},
          {"objectKind", to_string(e.object_kind)},
          {"objectId", e.object_id},
          {"generation", e.generation},
          {"action", e.action},
          {"outcome", to_string(e.outcome)},
          {"detail", e.detail}};
}

namespace {

std::string padded(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s + " " : s + std::string(width - w, ' ');
}

}  // namespace

std::string event_header(bool color) {
  std::string line = padded("SEQ", 8) + padded("TIME", 27) + padded("KIND", 12) + padded("ID", 16) +
                     padded("GEN", 6) + padded("ACTION", 19) + padded("OUTCOME", 10) + "DETAIL";
  return colorize(line, Color::Bold, color) + "\n";
}

std::string event_line(const ReconcileEvent& e, bool color) {
  const std::string outcome(to_string(e.outcome));
  const Color outcome_color = e.outcome == store::EventOutcome::Error ? Color::Red
                              : e.outcome == store::EventOutcome::Ok  ? Color::Green
                                                                      : Color::None;
  std::string line = padded(std::to_string(e.seq), 8) + padded(short_time(e.at), 27) +
                     padded(std::string(to_string(e.object_kind)), 12) + padded(short_id(e.object_id), 16) +
                     padded(std::to_string(e.generation), 6) + padded(e.action, 19) +
                     colorize(outcome, outcome_color, color) + std::string(10 - std::min<size_t>(9, outcome.size()), ' ') +
                     one_line(e.detail, 200);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}


// ---- top

Usage usage_between(const CgroupRead& first, const CgroupRead& second) {
  Usage u;
  const stats::CgroupSample& s = second.sample;
  if (!s.present) return u;
  u.measured = true;
  u.cpu_usage_ns = s.cpu_usage_ns;
  u.working_set = s.working_set;
  u.memory_usage = s.memory_usage;
  u.rss = s.rss;
  u.page_faults = s.page_faults;
  u.major_page_faults = s.major_page_faults;
  u.pids = s.pids;
  if (first.sample.present) {
    stats::CpuRates rates;  // one container, two reads
    (void)rates.rate("", first.sample.cpu_usage_ns, first.at_ns);
    u.nano_cores = rates.rate("", s.cpu_usage_ns, second.at_ns);
  }
  return u;
}

namespace {

void add(Usage& total, const Usage& u) {
  if (!u.measured) return;
  total.measured = true;
  if (u.nano_cores) total.nano_cores = total.nano_cores.value_or(0) + *u.nano_cores;
  total.cpu_usage_ns += u.cpu_usage_ns;
  total.working_set += u.working_set;
  total.memory_usage += u.memory_usage;
  total.rss += u.rss;
  total.page_faults += u.page_faults;
  total.major_page_faults += u.major_page_faults;
  total.pids += u.pids;
}

// The value rows are sorted by; none sorts last.
std::optional<uint64_t> sort_key(const Usage& u, TopSort by) {
  if (by == TopSort::Cpu) return u.nano_cores;
  if (by == TopSort::Memory && u.measured) return u.working_set;
  return std::nullopt;
}

template <typename Row>
void sort_rows(std::vector<Row>& rows, TopSort by) {
  if (by == TopSort::None) return;
  std::stable_sort(rows.begin(), rows.end(), [by](const Row& a, const Row& b) {
    const auto ka = sort_key(a.usage, by), kb = sort_key(b.usage, by);
    if (!kb) return ka.has_value();
    return ka && *ka > *kb;
  });
}

// CPU(cores), CPU TIME, MEMORY, RSS, PIDS; '-' where there is nothing to show.
std::vector<Cell> usage_cells(const Usage& u) {
  if (!u.measured) return {{"-"}, {"-"}, {"-"}, {"-"}, {"-"}};
  return {{u.nano_cores ? cores_text(*u.nano_cores) : "-"},
          {cpu_time_text(u.cpu_usage_ns)},
          {bytes_text(u.working_set)},
          {bytes_text(u.rss)},
          {std::to_string(u.pids)}};
}

const std::vector<std::string> kUsageHeaders = {"CPU(cores)", "CPU TIME", "MEMORY", "RSS", "PIDS"};

// CRI's names where ContainerStats has the same numbers.
nlohmann::json usage_json(const Usage& u) {
  return {{"measured", u.measured},
          {"cpu",
           {{"usageNanoCores", u.nano_cores ? nlohmann::json(*u.nano_cores) : nlohmann::json(nullptr)},
            {"usageCoreNanoSeconds", u.cpu_usage_ns}}},
          {"memory",
           {{"workingSetBytes", u.working_set},
            {"usageBytes", u.memory_usage},
            {"rssBytes", u.rss},
            {"pageFaults", u.page_faults},
            {"majorPageFaults", u.major_page_faults}}},
          {"process", {{"processCount", u.pids}}}};
}

}  // namespace

std::vector<PodTop> pod_totals(const std::vector<ContainerTop>& rows, const std::vector<SandboxRecord>& sandboxes) {
  std::vector<PodTop> out;
  auto total_of = [&](const std::string& sandbox_id) -> PodTop& {
    for (auto& p : out)
      if (p.sandbox_id == sandbox_id) return p;
    return out.emplace_back(PodTop{sandbox_id, nullptr, 0, {}});
  };
  for (const auto& s : sandboxes)
    for (const auto& row : rows)
      if (row.container.sandbox_id == s.id) {
        total_of(s.id).pod = &s;
        break;
      }
  for (const auto& row : rows) {
    PodTop& p = total_of(row.container.sandbox_id);
    ++p.containers;
    add(p.usage, row.usage);
  }
  return out;
}

void sort_top(std::vector<ContainerTop>& rows, TopSort by) { sort_rows(rows, by); }
void sort_top(std::vector<PodTop>& rows, TopSort by) { sort_rows(rows, by); }

Table top_table(const std::vector<ContainerTop>& rows) {
  std::vector<std::string> headers = {"POD", "CONTAINER", "CONTAINER ID", "STATE"};
  headers.insert(headers.end(), kUsageHeaders.begin(), kUsageHeaders.end());
  Table t(headers);
  for (const auto& row : rows) {
    const auto& c = row.container;
    const std::string state = cri_state(c);
    std::vector<Cell> cells = {{row.pod ? row.pod->namespace_ + "/" + row.pod->name : short_id(c.sandbox_id)},
                               {c.name},
                               {short_id(c.id)},
                               {state, state_color(state)}};
    const auto usage = usage_cells(row.usage);
    cells.insert(cells.end(), usage.begin(), usage.end());
    t.add(std::move(cells));
  }
  return t;
}

Table pod_top_table(const std::vector<PodTop>& rows) {
  std::vector<std::string> headers = {"POD", "POD ID", "STATE", "CONTAINERS"};
  headers.insert(headers.end(), kUsageHeaders.begin(), kUsageHeaders.end());
  Table t(headers);
  for (const auto& row : rows) {
    const std::string state = row.pod ? cri_state(*row.pod) : "-";
    std::vector<Cell> cells = {{row.pod ? row.pod->namespace_ + "/" + row.pod->name : "-"},
                               {short_id(row.sandbox_id)},
                               {state, row.pod ? state_color(state) : Color::None},
                               {std::to_string(row.containers)}};
    const auto usage = usage_cells(row.usage);
    cells.insert(cells.end(), usage.begin(), usage.end());
    t.add(std::move(cells));
  }
  return t;
}

nlohmann::json top_json(const ContainerTop& row) {
  const auto& c = row.container;
  nlohmann::json pod = nullptr;
  if (row.pod) pod = {{"name", row.pod->name}, {"namespace", row.pod->namespace_}, {"uid", row.pod->uid}};
  nlohmann::json out = {{"id", c.id},
                        {"podSandboxId", c.sandbox_id},
                        {"metadata", {{"name", c.name}, {"attempt", c.attempt}}},
                        {"pod", pod},
                        {"state", cri_state(c)},
                        {"lxdName", c.lxd_name}};
  out.update(usage_json(row.usage));
  return out;
}

nlohmann::json pod_top_json(const PodTop& row) {
  nlohmann::json metadata = nullptr;
  if (row.pod)
    metadata = {{"name", row.pod->name},
                {"namespace", row.pod->namespace_},
                {"uid", row.pod->uid},
                {"attempt", row.pod->attempt}};
  nlohmann::json out = {{"id", row.sandbox_id},
                        {"metadata", metadata},
                        {"state", row.pod ? nlohmann::json(cri_state(*row.pod)) : nlohmann::json(nullptr)},
                        {"containerCount", row.containers}};
  out.update(usage_json(row.usage));
  return out;
}

}  // namespace lxe::ctl
