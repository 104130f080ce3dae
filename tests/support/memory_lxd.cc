#include "support/memory_lxd.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <utility>

namespace lxe::test {

using lxd::Error;
using lxd::ErrorKind;
using nlohmann::json;

namespace {

constexpr int kRunning = 103;
constexpr int kStopped = 102;

// An ID map as LXD writes it into volatile.idmap.*: root and the next 10^9 IDs from `base`.
std::string idmap_json(int64_t base) {
  return json::array({{{"Isuid", true}, {"Isgid", false}, {"Hostid", base}, {"Nsid", 0}, {"Maprange", 1000000000}},
                      {{"Isuid", false}, {"Isgid", true}, {"Hostid", base}, {"Nsid", 0}, {"Maprange", 1000000000}}})
      .dump();
}

// 64 hex digits that depend on every byte of `content`, like the SHA-256 LXD names images by.
std::string fingerprint_of(const std::string& content) {
  std::string out;
  for (int salt = 0; salt < 4; ++salt) {
    char part[17];
    std::snprintf(part, sizeof part, "%016zx", std::hash<std::string>{}(std::to_string(salt) + ":" + content));
    out += part;
  }
  return out;
}

Error not_found(const std::string& what) { return Error(ErrorKind::NotFound, what + " not found", 404); }

// A PATCH's config and devices merged as LXD merges them.
void merge_config(lxd::Config& config, const json& patch) {
  if (!patch.is_object()) throw Error(ErrorKind::BadRequest, "config is not an object", 400);
  for (const auto& [key, value] : patch.items()) {
    if (!value.is_string()) throw Error(ErrorKind::BadRequest, "config key " + key + " is not a string", 400);
    if (value.get<std::string>().empty())
      config.erase(key);
    else
      config[key] = value.get<std::string>();
  }
}

void merge_devices(lxd::Devices& devices, const json& patch) {
  if (!patch.is_object()) throw Error(ErrorKind::BadRequest, "devices is not an object", 400);
  for (const auto& [name, device] : patch.items()) {
    if (!device.is_object()) throw Error(ErrorKind::BadRequest, "device " + name + " is not an object", 400);
    std::map<std::string, std::string> keys;
    for (const auto& [key, value] : device.items()) {
      if (!value.is_string()) throw Error(ErrorKind::BadRequest, "device " + name + " key " + key + " is not a string", 400);
      keys[key] = value.get<std::string>();
    }
    devices[name] = std::move(keys);
  }
}

std::string etag_of(int64_t revision) { return "\"memory-" + std::to_string(revision) + "\""; }

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size())
    out.push_back(text.substr(start, at - start));
  out.push_back(text.substr(start));
  return out;
}

// LXD's filter: clauses "<field> eq <value>" joined by " and ". Throws Server for anything else,
// as LXD 5.0 answers 500 "Invalid filter: ..." for what it cannot parse.
std::vector<std::pair<std::string, std::string>> parse_filter(const std::string& filter) {
  std::vector<std::pair<std::string, std::string>> clauses;
  if (filter.empty()) return clauses;
  for (const auto& clause : split(filter, " and ")) {
    std::istringstream words(clause);
    std::string field, op, value, extra;
    words >> field >> op >> value;
    if (field.empty() || op != "eq" || value.empty() || (words >> extra))
      throw Error(ErrorKind::Server, "Invalid filter: '" + clause + "' (MemoryLxd knows '<field> eq <value>' only)", 500);
    if (field != "name" && field != "status" && field != "type" && field.rfind("config.", 0) != 0)
      throw Error(ErrorKind::Server, "Invalid filter: field '" + field + "' (MemoryLxd knows name, status, type, config.<key>)", 500);
    clauses.emplace_back(field, value);
  }
  return clauses;
}

bool matches(const lxd::Instance& instance, const std::vector<std::pair<std::string, std::string>>& clauses) {
  for (const auto& [field, value] : clauses) {
    std::string actual;
    if (field == "name") actual = instance.name;
    else if (field == "status") actual = instance.status;
    else if (field == "type") actual = instance.type;
    else if (const auto it = instance.config.find(field.substr(7)); it != instance.config.end()) actual = it->second;
    if (actual != value) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(MemoryLxd::Op op) {
  using Op = MemoryLxd::Op;
  switch (op) {
    case Op::ServerInfo: return "server_info";
    case Op::GetStoragePool: return "get_storage_pool";
    case Op::GetNetwork: return "get_network";
    case Op::CreateNetwork: return "create_network";
    case Op::DeleteNetwork: return "delete_network";
    case Op::ListProfiles: return "list_profiles";
    case Op::GetProfile: return "get_profile";
    case Op::CreateProfile: return "create_profile";
    case Op::PatchProfile: return "patch_profile";
    case Op::DeleteProfile: return "delete_profile";
    case Op::ListInstances: return "list_instances";
    case Op::GetInstance: return "get_instance";
    case Op::GetInstanceState: return "get_instance_state";
    case Op::CreateInstance: return "create_instance";
    case Op::PatchInstance: return "patch_instance";
    case Op::DeleteInstance: return "delete_instance";
    case Op::RenameInstance: return "rename_instance";
    case Op::StartInstance: return "start_instance";
    case Op::StopInstance: return "stop_instance";
    case Op::Exec: return "exec";
    case Op::ListImages: return "list_images";
    case Op::GetImage: return "get_image";
    case Op::GetImageAlias: return "get_image_alias";
    case Op::ImportImage: return "import_image";
    case Op::DeleteImage: return "delete_image";
    case Op::PullRemoteImage: return "pull_remote_image";
    case Op::TagImage: return "tag_image";
  }
  return "unknown";
}

MemoryLxd::MemoryLxd() : MemoryLxd(Options{}) {}

MemoryLxd::MemoryLxd(Options options) : options_(std::move(options)) {
  // Every LXD has it, and every instance lxe makes names it.
  StoredProfile profile;
  profile.profile.name = "default";
  profile.profile.description = "Default LXD profile";
  profile.revision = next_revision_++;
  profiles_.emplace("default", std::move(profile));
}

// ---- admission, faults, the log ------------------------------------------------------------

Error MemoryLxd::error_for(const Fault& fault, Op op) {
  // What LXD (or the client, for Transport and Timeout) says for each kind, and its HTTP status.
  std::string message;
  int status = 0;
  switch (fault.kind) {
    case ErrorKind::Transport: message = "Connection refused"; break;
    case ErrorKind::Timeout: message = "no answer from LXD within 30000 ms"; break;
    case ErrorKind::BadRequest: message = "Bad request"; status = 400; break;
    case ErrorKind::Forbidden: message = "Forbidden"; status = 403; break;
    case ErrorKind::NotFound: message = "Not found"; status = 404; break;
    case ErrorKind::Conflict: message = "This entry already exists"; status = 409; break;
    case ErrorKind::PreconditionFailed: message = "ETag doesn't match"; status = 412; break;
    case ErrorKind::Server: message = "Internal server error"; status = 500; break;
    case ErrorKind::OperationFailed: message = "Operation failed"; break;
    case ErrorKind::Busy: message = "Instance is busy running a \"stop\" operation"; break;
    case ErrorKind::Protocol: message = "answer is not a JSON object"; break;
  }
  if (!fault.message.empty()) message = fault.message;
  return Error(fault.kind, std::string(to_string(op)) + " (injected): " + message, status);
}

MemoryLxd::Admission MemoryLxd::admit(Op op, const std::string& target, json body) const {
  Call call{op, target, std::move(body), std::nullopt};
  Hook hook;
  size_t index = 0;
  {
    std::lock_guard lock(mutex_);
    index = calls_.size();
    calls_.push_back(call);
    hook = hook_;
  }
  if (hook) {
    try {
      hook(call);
    } catch (const Error& e) {
      note_error(index, e.kind());
      throw;
    }
  }
  std::optional<Fault> fault;
  bool reachable = true;
  {
    std::lock_guard lock(mutex_);
    reachable = reachable_;
    for (auto it = faults_.begin(); reachable && it != faults_.end(); ++it) {
      if (it->op != op || (!it->fault.target.empty() && it->fault.target != target)) continue;
      fault = it->fault;
      if (--it->fault.times <= 0) faults_.erase(it);
      break;
    }
  }
  if (!reachable) {
    note_error(index, ErrorKind::Transport);
    throw Error(ErrorKind::Transport, std::string(to_string(op)) + ": Connection refused (socket " +
                                          options_.socket_path + ")");
  }
  if (fault && !fault->after_effect) {
    note_error(index, fault->kind);
    throw error_for(*fault, op);
  }
  return {index, fault};
}

template <typename Effect>
auto MemoryLxd::perform(Op op, const std::string& target, json body, Effect&& effect) const {
  using Result = std::invoke_result_t<Effect, Events&>;
  const Admission admission = admit(op, target, std::move(body));
  Events events;
  auto locked = [&] {
    std::lock_guard lock(mutex_);
    if constexpr (std::is_void_v<Result>) {
      effect(events);
      return true;
    } else {
      return effect(events);
    }
  };
  auto result = [&] {
    try {
      return locked();
    } catch (const Error& e) {
      note_error(admission.index, e.kind());
      throw;
    }
  }();
  // Outside the lock: the event sink may call this LXD again.
  emit(events);
  if (admission.after) {
    note_error(admission.index, admission.after->kind);
    throw error_for(*admission.after, op);
  }
  if constexpr (!std::is_void_v<Result>) return result;
}

void MemoryLxd::note_error(size_t index, ErrorKind kind) const {
  std::lock_guard lock(mutex_);
  if (index < calls_.size()) calls_[index].error = kind;
}

void MemoryLxd::emit(const Events& events) const {
  EventSink sink;
  {
    std::lock_guard lock(mutex_);
    sink = event_sink_;
  }
  if (!sink) return;
  for (const auto& e : events) sink(e);
}

lxd::LifecycleEvent MemoryLxd::event(std::string_view action, std::string_view collection, const std::string& name) {
  lxd::LifecycleEvent e;
  e.action = std::string(action);
  e.source = "/1.0/" + std::string(collection) + "/" + name;
  e.name = name;
  e.timestamp = "2026-01-01T00:00:00Z";
  return e;
}

void MemoryLxd::fail_next(Op op, Fault fault) {
  std::lock_guard lock(mutex_);
  if (fault.times > 0) faults_.push_back({op, std::move(fault)});
}

void MemoryLxd::busy_next(Op op, int times, const std::string& target) {
  // What lxd::Client makes of it: ErrorKind::Busy (the client reads LXD's wording).
  fail_next(op, Fault{.kind = ErrorKind::Busy,
                      .message = "Instance is busy running a \"stop\" operation",
                      .times = times,
                      .target = target});
}

void MemoryLxd::clear_faults() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

void MemoryLxd::set_reachable(bool reachable) {
  std::lock_guard lock(mutex_);
  reachable_ = reachable;
}

void MemoryLxd::set_hook(Hook hook) {
  std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

void MemoryLxd::set_clean_shutdown(const std::string& instance, bool clean) {
  std::lock_guard lock(mutex_);
  if (clean)
    unclean_shutdown_.erase(instance);
  else
    unclean_shutdown_.insert(instance);
}

void MemoryLxd::on_exec(ExecScript script) {
  std::lock_guard lock(mutex_);
  exec_script_ = std::move(script);
}

void MemoryLxd::on_event(EventSink sink) {
  std::lock_guard lock(mutex_);
  event_sink_ = std::move(sink);
}

std::vector<MemoryLxd::Call> MemoryLxd::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

std::vector<MemoryLxd::Call> MemoryLxd::calls(Op op) const {
  std::lock_guard lock(mutex_);
  std::vector<Call> out;
  for (const auto& c : calls_)
    if (c.op == op) out.push_back(c);
  return out;
}

size_t MemoryLxd::count(Op op, const std::string& target) const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& c : calls_)
    if (c.op == op && (target.empty() || c.target == target)) ++n;
  return n;
}

void MemoryLxd::clear_calls() {
  std::lock_guard lock(mutex_);
  calls_.clear();
}

// ---- objects, under the lock ----------------------------------------------------------------

MemoryLxd::StoredInstance& MemoryLxd::instance_locked(const std::string& name) const {
  const auto it = instances_.find(name);
  if (it == instances_.end()) throw not_found("Instance");
  return it->second;
}

MemoryLxd::StoredProfile& MemoryLxd::profile_locked(const std::string& name) const {
  const auto it = profiles_.find(name);
  if (it == profiles_.end()) throw not_found("Profile");
  return it->second;
}

lxd::Instance MemoryLxd::view_locked(const StoredInstance& stored) const {
  lxd::Instance out = stored.instance;
  out.status = stored.pid > 0 ? "Running" : "Stopped";
  out.status_code = stored.pid > 0 ? kRunning : kStopped;
  out.etag = etag_of(stored.revision);
  out.expanded_config.clear();
  out.expanded_devices.clear();
  for (const auto& name : out.profiles) {
    const auto it = profiles_.find(name);
    if (it == profiles_.end()) continue;
    for (const auto& [k, v] : it->second.profile.config) out.expanded_config[k] = v;
    for (const auto& [k, v] : it->second.profile.devices) out.expanded_devices[k] = v;
  }
  for (const auto& [k, v] : out.config) out.expanded_config[k] = v;
  for (const auto& [k, v] : out.devices) out.expanded_devices[k] = v;
  return out;
}

lxd::Profile MemoryLxd::profile_view_locked(const StoredProfile& stored) const {
  lxd::Profile out = stored.profile;
  out.etag = etag_of(stored.revision);
  out.used_by.clear();
  for (const auto& [name, i] : instances_)
    for (const auto& p : i.instance.profiles)
      if (p == out.name) out.used_by.push_back("/1.0/instances/" + name);
  return out;
}

void MemoryLxd::touch_locked(StoredInstance& stored) const { stored.revision = next_revision_++; }

void MemoryLxd::start_locked(StoredInstance& stored, Events& events) const {
  stored.pid = next_pid_++;
  stored.instance.config["volatile.last_state.power"] = "RUNNING";
  stored.instance.config["volatile.idmap.current"] = stored.instance.config["volatile.idmap.next"];
  // LXD shifts the rootfs at a start when it is not shifted to that map yet, and records it.
  stored.instance.config["volatile.last_state.idmap"] = stored.instance.config["volatile.idmap.next"];
  touch_locked(stored);
  events.push_back(event("instance-started", "instances", stored.instance.name));
}

void MemoryLxd::stop_locked(StoredInstance& stored, bool clean, Events& events) const {
  stored.pid = 0;
  stored.instance.config["volatile.last_state.power"] = "STOPPED";
  touch_locked(stored);
  events.push_back(event(clean ? "instance-shutdown" : "instance-stopped", "instances", stored.instance.name));
}

std::optional<std::string> MemoryLxd::image_for_locked(const std::string& ref) const {
  if (images_.count(ref)) return ref;
  std::optional<std::string> found;
  for (const auto& [fingerprint, image] : images_) {
    if (ref.empty() || fingerprint.rfind(ref, 0) != 0) continue;
    if (found) throw Error(ErrorKind::Server, "More than one image matches", 500);
    found = fingerprint;
  }
  return found;
}

void MemoryLxd::create_instance_locked(const lxd::InstanceSpec& spec, bool running, Events& events) const {
  if (spec.name.empty()) throw Error(ErrorKind::BadRequest, "Invalid instance name: empty", 400);
  if (instances_.count(spec.name))
    throw Error(ErrorKind::Conflict,
                "Failed creating instance record: Add instance info to the database: This \"instances\" entry "
                "already exists");
  for (const auto& p : spec.profiles)
    if (!profiles_.count(p)) throw Error(ErrorKind::Server, "Requested profile \"" + p + "\" doesn't exist", 500);
  std::string base_image;
  if (spec.source.type == "image") {
    if (!spec.source.alias.empty()) {
      const auto it = aliases_.find(spec.source.alias);
      if (it == aliases_.end()) throw not_found("Image alias");
      base_image = it->second;
    } else {
      const auto fingerprint = image_for_locked(spec.source.fingerprint);
      if (!fingerprint) throw not_found("Image");
      base_image = *fingerprint;
    }
  } else if (spec.source.type != "none") {
    throw Error(ErrorKind::BadRequest, "Unknown source type " + spec.source.type, 400);
  }
  StoredInstance stored;
  lxd::Instance& i = stored.instance;
  i.name = spec.name;
  i.type = "container";
  i.profiles = spec.profiles;
  i.config = spec.config;
  i.devices = spec.devices;
  i.ephemeral = spec.ephemeral;
  i.created_at = "2026-01-01T00:00:00Z";
  if (!base_image.empty()) i.config["volatile.base_image"] = base_image;
  i.config["volatile.idmap.base"] = "0";
  i.config["volatile.idmap.next"] = idmap_json(options_.idmap_host_base);
  i.config["volatile.last_state.idmap"] = "[]";  // not shifted until its first start
  i.config["volatile.last_state.power"] = "STOPPED";
  touch_locked(stored);
  events.push_back(event("instance-created", "instances", spec.name));
  auto& placed = instances_.emplace(spec.name, std::move(stored)).first->second;
  if (running) start_locked(placed, events);
}

// ---- lxd::Api -------------------------------------------------------------------------------

lxd::ServerInfo MemoryLxd::server_info() const {
  return perform(Op::ServerInfo, "", nullptr, [&](Events&) {
    lxd::ServerInfo info;
    info.api_version = "1.0";
    info.server_version = options_.server_version;
    info.server_name = "memory";
    info.server_pid = options_.server_pid;
    return info;
  });
}

lxd::StoragePool MemoryLxd::get_storage_pool(const std::string& name) const {
  return perform(Op::GetStoragePool, name, nullptr, [&](Events&) {
    if (name != "default") throw not_found("Storage pool");
    return lxd::StoragePool{"default", "dir", {{"source", options_.storage_pool_source}}};
  });
}

std::vector<lxd::Profile> MemoryLxd::list_profiles() const {
  return perform(Op::ListProfiles, "", nullptr, [&](Events&) {
    std::vector<lxd::Profile> out;
    for (const auto& [name, p] : profiles_) {
      out.push_back(profile_view_locked(p));
      out.back().etag.clear();
    }
    return out;
  });
}

lxd::Profile MemoryLxd::get_profile(const std::string& name) const {
  return perform(Op::GetProfile, name, nullptr, [&](Events&) { return profile_view_locked(profile_locked(name)); });
}

lxd::Network MemoryLxd::get_network(const std::string& name) const {
  return perform(Op::GetNetwork, name, nullptr, [&](Events&) {
    const auto it = networks_.find(name);
    if (it == networks_.end()) throw Error(ErrorKind::NotFound, "Network not found", 404);
    return it->second;
  });
}

void MemoryLxd::create_network(const lxd::NetworkSpec& spec) const {
  perform(Op::CreateNetwork, spec.name, json{{"config", spec.config}}, [&](Events& events) {
    if (networks_.count(spec.name))
      throw Error(ErrorKind::Conflict, "The network already exists", 409);
    networks_[spec.name] = lxd::Network{spec.name, spec.type, true, spec.description, spec.config};
    events.push_back(event("network-created", "networks", spec.name));
  });
}

void MemoryLxd::delete_network(const std::string& name) const {
  perform(Op::DeleteNetwork, name, nullptr, [&](Events& events) {
    if (networks_.erase(name) == 0) throw Error(ErrorKind::NotFound, "Network not found", 404);
    events.push_back(event("network-deleted", "networks", name));
  });
}

void MemoryLxd::create_profile(const lxd::ProfileSpec& spec) const {
  perform(Op::CreateProfile, spec.name, json{{"config", spec.config}, {"devices", spec.devices}}, [&](Events& events) {
    if (profiles_.count(spec.name))
      throw Error(ErrorKind::Conflict,
                  "Error inserting \"" + spec.name + "\" into database: The profile already exists", 500);
    StoredProfile p;
    p.profile.name = spec.name;
    p.profile.description = spec.description;
    p.profile.config = spec.config;
    p.profile.devices = spec.devices;
    p.revision = next_revision_++;
    profiles_.emplace(spec.name, std::move(p));
    events.push_back(event("profile-created", "profiles", spec.name));
  });
}

void MemoryLxd::patch_profile(const std::string& name, const json& patch, const std::string& if_match) const {
  perform(Op::PatchProfile, name, patch, [&](Events& events) {
    StoredProfile& stored = profile_locked(name);
    if (!if_match.empty() && if_match != etag_of(stored.revision))
      throw Error(ErrorKind::PreconditionFailed,
                  "ETag doesn't match: " + etag_of(stored.revision) + " vs " + if_match, 412);
    lxd::Profile changed = stored.profile;
    if (!patch.is_object()) throw Error(ErrorKind::BadRequest, "the patch is not an object", 400);
    if (patch.contains("config")) merge_config(changed.config, patch["config"]);
    if (patch.contains("devices")) merge_devices(changed.devices, patch["devices"]);
    if (patch.contains("description")) changed.description = patch["description"].get<std::string>();
    stored.profile = std::move(changed);
    stored.revision = next_revision_++;
    events.push_back(event("profile-updated", "profiles", name));
  });
}

void MemoryLxd::delete_profile(const std::string& name) const {
  perform(Op::DeleteProfile, name, nullptr, [&](Events& events) {
    if (!profile_view_locked(profile_locked(name)).used_by.empty())
      throw Error(ErrorKind::Server, "Profile is currently in use", 500);
    profiles_.erase(name);
    events.push_back(event("profile-deleted", "profiles", name));
  });
}

std::vector<lxd::Instance> MemoryLxd::list_instances(const std::string& filter, bool with_state) const {
  return perform(Op::ListInstances, filter, json{{"with_state", with_state}}, [&](Events&) {
    const auto clauses = parse_filter(filter);
    std::vector<lxd::Instance> out;
    for (const auto& [name, stored] : instances_) {
      lxd::Instance i = view_locked(stored);
      if (!matches(i, clauses)) continue;
      i.etag.clear();
      if (with_state) i.state = lxd::InstanceState{i.status, i.status_code, stored.pid, nullptr};
      out.push_back(std::move(i));
    }
    return out;
  });
}

lxd::Instance MemoryLxd::get_instance(const std::string& name) const {
  return perform(Op::GetInstance, name, nullptr, [&](Events&) { return view_locked(instance_locked(name)); });
}

lxd::InstanceState MemoryLxd::get_instance_state(const std::string& name) const {
  return perform(Op::GetInstanceState, name, nullptr, [&](Events&) {
    const StoredInstance& stored = instance_locked(name);
    const lxd::Instance i = view_locked(stored);
    return lxd::InstanceState{i.status, i.status_code, stored.pid, nullptr};
  });
}

void MemoryLxd::create_instance(const lxd::InstanceSpec& spec) const {
  json body{{"profiles", spec.profiles}, {"config", spec.config}, {"devices", spec.devices},
            {"source", {{"type", spec.source.type}, {"alias", spec.source.alias}, {"fingerprint", spec.source.fingerprint}}}};
  perform(Op::CreateInstance, spec.name, std::move(body),
          [&](Events& events) { create_instance_locked(spec, false, events); });
}

void MemoryLxd::patch_instance(const std::string& name, const json& patch, const std::string& if_match) const {
  perform(Op::PatchInstance, name, patch, [&](Events& events) {
    StoredInstance& stored = instance_locked(name);
    if (!if_match.empty() && if_match != etag_of(stored.revision))
      throw Error(ErrorKind::PreconditionFailed,
                  "ETag doesn't match: " + etag_of(stored.revision) + " vs " + if_match, 412);
    if (!patch.is_object()) throw Error(ErrorKind::BadRequest, "the patch is not an object", 400);
    // All or nothing, as LXD validates the whole change before it applies any of it.
    lxd::Instance changed = stored.instance;
    if (patch.contains("config")) merge_config(changed.config, patch["config"]);
    if (patch.contains("devices")) merge_devices(changed.devices, patch["devices"]);
    if (patch.contains("profiles")) {
      changed.profiles = patch["profiles"].get<std::vector<std::string>>();
      for (const auto& p : changed.profiles)
        if (!profiles_.count(p)) throw Error(ErrorKind::Server, "Requested profile \"" + p + "\" doesn't exist", 500);
    }
    stored.instance = std::move(changed);
    touch_locked(stored);
    events.push_back(event("instance-updated", "instances", name));
  });
}

void MemoryLxd::delete_instance(const std::string& name) const {
  perform(Op::DeleteInstance, name, nullptr, [&](Events& events) {
    if (instance_locked(name).pid > 0) throw Error(ErrorKind::BadRequest, "Instance is running", 400);
    instances_.erase(name);
    events.push_back(event("instance-deleted", "instances", name));
  });
}

void MemoryLxd::rename_instance(const std::string& name, const std::string& new_name) const {
  perform(Op::RenameInstance, name, json{{"name", new_name}}, [&](Events& events) {
    StoredInstance& stored = instance_locked(name);
    if (stored.pid > 0) throw Error(ErrorKind::BadRequest, "Renaming of running instance not allowed", 400);
    if (instances_.count(new_name))
      throw Error(ErrorKind::Conflict, "Name \"" + new_name + "\" already in use", 409);
    StoredInstance moved = std::move(stored);
    instances_.erase(name);
    moved.instance.name = new_name;
    touch_locked(moved);
    instances_.emplace(new_name, std::move(moved));
    events.push_back(event("instance-renamed", "instances", new_name));
  });
}

void MemoryLxd::start_instance(const std::string& name) const {
  perform(Op::StartInstance, name, nullptr, [&](Events& events) {
    StoredInstance& stored = instance_locked(name);
    if (stored.pid > 0)
      throw Error(ErrorKind::OperationFailed,
                  "Starting instance (/1.0/operations/memory) Failure: The instance is already running");
    start_locked(stored, events);
  });
}

void MemoryLxd::stop_instance(const std::string& name, lxd::StopMode mode, std::chrono::seconds graceful_timeout) const {
  const bool graceful = mode == lxd::StopMode::Graceful && graceful_timeout.count() > 0;
  json body{{"mode", graceful ? "graceful" : "force"}, {"timeout", graceful ? graceful_timeout.count() : 0}};
  perform(Op::StopInstance, name, std::move(body), [&](Events& events) {
    StoredInstance& stored = instance_locked(name);
    if (stored.pid == 0) return;  // already stopped: done, as the client sees it
    stop_locked(stored, graceful && unclean_shutdown_.count(name) == 0, events);
  });
}

lxd::ExecResult MemoryLxd::exec(const std::string& instance, const std::vector<std::string>& command,
                                const lxd::Config& environment, const std::string& cwd,
                                std::optional<std::chrono::milliseconds> timeout) const {
  json body{{"command", command}, {"environment", environment}, {"cwd", cwd}};
  if (timeout) body["timeout_ms"] = timeout->count();
  const Admission admission = admit(Op::Exec, instance, std::move(body));
  try {
    ExecScript script;
    {
      std::lock_guard lock(mutex_);
      if (instance_locked(instance).pid == 0) throw Error(ErrorKind::BadRequest, "Instance is not running", 400);
      script = exec_script_;
    }
    // Outside the lock: the test's script may call this LXD again.
    lxd::ExecResult result = script ? script(instance, command) : lxd::ExecResult{};
    if (admission.after) throw error_for(*admission.after, Op::Exec);
    return result;
  } catch (const Error& e) {
    note_error(admission.index, e.kind());
    throw;
  }
}

std::vector<lxd::Image> MemoryLxd::list_images() const {
  return perform(Op::ListImages, "", nullptr, [&](Events&) {
    std::vector<lxd::Image> out;
    for (const auto& [fingerprint, image] : images_) out.push_back(image);
    return out;
  });
}

lxd::Image MemoryLxd::get_image(const std::string& fingerprint) const {
  return perform(Op::GetImage, fingerprint, nullptr, [&](Events&) {
    const auto found = image_for_locked(fingerprint);
    if (!found) throw not_found("Image");
    return images_.at(*found);
  });
}

lxd::ImageAlias MemoryLxd::get_image_alias(const std::string& name) const {
  return perform(Op::GetImageAlias, name, nullptr, [&](Events&) {
    const auto it = aliases_.find(name);
    if (it == aliases_.end()) throw not_found("Image alias");
    return lxd::ImageAlias{name, "", it->second};
  });
}

std::string MemoryLxd::import_image(const std::string& tarball, const std::string& alias,
                                    const std::map<std::string, std::string>& properties) const {
  return perform(Op::ImportImage, alias, json{{"properties", properties}, {"bytes", tarball.size()}}, [&](Events&) {
    const std::string fingerprint = fingerprint_of(tarball);
    const auto existing = aliases_.find(alias);
    if (existing != aliases_.end() && existing->second != fingerprint)
      throw Error(ErrorKind::Conflict, "image alias \"" + alias + "\" already points at image " + existing->second +
                                           ", not at " + fingerprint);
    lxd::Image& image = images_[fingerprint];
    image.fingerprint = fingerprint;
    image.architecture = "x86_64";
    image.type = "container";
    image.size = static_cast<int64_t>(tarball.size());
    for (const auto& [k, v] : properties) image.properties[k] = v;
    if (existing == aliases_.end()) {
      aliases_[alias] = fingerprint;
      image.aliases.push_back({alias, "", fingerprint});
    }
    return fingerprint;
  });
}

std::string MemoryLxd::import_image_file(const std::string& path, const std::string& alias,
                                         const std::map<std::string, std::string>& properties) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Transport, "image upload: cannot read " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return import_image(bytes.str(), alias, properties);
}

void MemoryLxd::delete_image(const std::string& fingerprint) const {
  perform(Op::DeleteImage, fingerprint, nullptr, [&](Events&) {
    const auto it = images_.find(fingerprint);
    if (it == images_.end()) throw not_found("Image");
    for (auto a = aliases_.begin(); a != aliases_.end();) a = a->second == fingerprint ? aliases_.erase(a) : std::next(a);
    images_.erase(it);
    return 0;
  });
}

std::string MemoryLxd::pull_remote_image(const lxd::RemoteImageSource& source, std::chrono::milliseconds) const {
  return perform(Op::PullRemoteImage, source.server + " " + source.alias, json{{"protocol", source.protocol}}, [&](Events&) {
    const auto it = remote_images_.find(source.server + " " + source.alias);
    if (it == remote_images_.end())
      throw Error(ErrorKind::OperationFailed,
                  "Failed getting remote image info: Failed getting image: The requested image couldn't be found");
    const std::string fingerprint = fingerprint_of(it->second);
    lxd::Image& image = images_[fingerprint];
    image.fingerprint = fingerprint;
    image.architecture = "x86_64";
    image.type = "container";
    image.size = static_cast<int64_t>(it->second.size());
    return fingerprint;
  });
}

void MemoryLxd::tag_image(const std::string& fingerprint, const std::string& alias,
                          const std::map<std::string, std::string>& properties) const {
  perform(Op::TagImage, fingerprint, json{{"alias", alias}}, [&](Events&) {
    const auto it = images_.find(fingerprint);
    if (it == images_.end()) throw not_found("Image");
    const auto existing = aliases_.find(alias);
    if (existing != aliases_.end() && existing->second != fingerprint)
      throw Error(ErrorKind::Conflict, "image alias \"" + alias + "\" already points at image " + existing->second);
    for (const auto& [k, v] : properties) it->second.properties[k] = v;
    if (existing == aliases_.end()) {
      aliases_[alias] = fingerprint;
      it->second.aliases.push_back({alias, "", fingerprint});
    }
    return 0;
  });
}

void MemoryLxd::add_remote_image(const std::string& server, const std::string& alias, const std::string& content) {
  std::lock_guard lock(mutex_);
  remote_images_[server + " " + alias] = content;
}

// ---- what a person with lxc does -----------------------------------------------------------

std::optional<lxd::Instance> MemoryLxd::instance(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = instances_.find(name);
  if (it == instances_.end()) return std::nullopt;
  return view_locked(it->second);
}

std::optional<lxd::Profile> MemoryLxd::profile(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = profiles_.find(name);
  if (it == profiles_.end()) return std::nullopt;
  return profile_view_locked(it->second);
}

std::vector<std::string> MemoryLxd::instance_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, i] : instances_) out.push_back(name);
  return out;
}

std::vector<std::string> MemoryLxd::profile_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, p] : profiles_) out.push_back(name);
  return out;
}

std::string MemoryLxd::add_image(const std::string& content, const std::vector<std::string>& aliases,
                                 const std::string& type) {
  std::lock_guard lock(mutex_);
  const std::string fingerprint = fingerprint_of(content);
  lxd::Image& image = images_[fingerprint];
  image.fingerprint = fingerprint;
  image.architecture = "x86_64";
  image.type = type;
  image.size = static_cast<int64_t>(content.size());
  for (const auto& alias : aliases) {
    aliases_[alias] = fingerprint;
    image.aliases.push_back({alias, "", fingerprint});
  }
  return fingerprint;
}

void MemoryLxd::add_instance(const lxd::InstanceSpec& spec, bool running) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    create_instance_locked(spec, running, events);
  }
  emit(events);
}

void MemoryLxd::stop_outside(const std::string& name) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    StoredInstance& stored = instance_locked(name);
    if (stored.pid > 0) stop_locked(stored, false, events);
  }
  emit(events);
}

void MemoryLxd::start_outside(const std::string& name) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    StoredInstance& stored = instance_locked(name);
    if (stored.pid > 0) stop_locked(stored, false, events);
    start_locked(stored, events);
  }
  emit(events);
}

void MemoryLxd::delete_outside(const std::string& name) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    StoredInstance& stored = instance_locked(name);
    if (stored.pid > 0) stop_locked(stored, false, events);
    instances_.erase(name);
    events.push_back(event("instance-deleted", "instances", name));
  }
  emit(events);
}

void MemoryLxd::edit_instance(const std::string& name, const std::function<void(lxd::Instance&)>& edit) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    StoredInstance& stored = instance_locked(name);
    edit(stored.instance);
    touch_locked(stored);
    events.push_back(event("instance-updated", "instances", name));
  }
  emit(events);
}

void MemoryLxd::edit_profile(const std::string& name, const std::function<void(lxd::Profile&)>& edit) {
  Events events;
  {
    std::lock_guard lock(mutex_);
    StoredProfile& stored = profile_locked(name);
    edit(stored.profile);
    stored.revision = next_revision_++;
    events.push_back(event("profile-updated", "profiles", name));
  }
  emit(events);
}

}  // namespace lxe::test
