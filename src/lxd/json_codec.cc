#include "lxd/json_codec.h"

#include <string>
#include <utility>

#include "lxd/error.h"

namespace lxe::lxd {
namespace {

using nlohmann::json;

[[noreturn]] void shape_error(const std::string& what, const std::string& key, const json& value) {
  throw Error(ErrorKind::Protocol, "unexpected JSON from LXD: " + what + "." + key + " is " +
                                       std::string(value.type_name()));
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string get_string(const json& object, const char* key, const std::string& what) {
  const json* v = member(object, key);
  if (v == nullptr) return {};
  if (!v->is_string()) shape_error(what, key, *v);
  return v->get<std::string>();
}

int64_t get_int(const json& object, const char* key, const std::string& what) {
  const json* v = member(object, key);
  if (v == nullptr) return 0;
  if (!v->is_number_integer()) shape_error(what, key, *v);
  return v->get<int64_t>();
}

bool get_bool(const json& object, const char* key, const std::string& what) {
  const json* v = member(object, key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) shape_error(what, key, *v);
  return v->get<bool>();
}

// LXD's config maps are string -> string; a non-string value (never seen from LXD) is kept as
// its JSON text rather than rejected.
std::map<std::string, std::string> string_map(const json& value, const std::string& what) {
  std::map<std::string, std::string> out;
  if (value.is_null()) return out;
  if (!value.is_object()) throw Error(ErrorKind::Protocol, "unexpected JSON from LXD: " + what +
                                                               " is " + value.type_name());
  for (const auto& [k, v] : value.items()) {
    out.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::map<std::string, std::string> get_string_map(const json& object, const char* key,
                                                  const std::string& what) {
  const json* v = member(object, key);
  if (v == nullptr) return {};
  return string_map(*v, what + "." + key);
}

Devices get_devices(const json& object, const char* key, const std::string& what) {
  Devices out;
  const json* v = member(object, key);
  if (v == nullptr) return out;
  if (!v->is_object()) shape_error(what, key, *v);
  for (const auto& [name, device] : v->items()) {
    out.emplace(name, string_map(device, what + "." + key + "." + name));
  }
  return out;
}

std::vector<std::string> get_strings(const json& object, const char* key, const std::string& what) {
  std::vector<std::string> out;
  const json* v = member(object, key);
  if (v == nullptr) return out;
  if (!v->is_array()) shape_error(what, key, *v);
  for (const auto& item : *v) {
    if (!item.is_string()) shape_error(what, key, item);
    out.push_back(item.get<std::string>());
  }
  return out;
}

void require_object(const json& value, const std::string& what) {
  if (!value.is_object()) {
    throw Error(ErrorKind::Protocol,
                "unexpected JSON from LXD: " + what + " is " + value.type_name() + ", not an object");
  }
}

}  // namespace

ServerInfo server_info_from_json(const json& metadata) {
  require_object(metadata, "server");
  ServerInfo info;
  info.api_version = get_string(metadata, "api_version", "server");
  info.api_extensions = get_strings(metadata, "api_extensions", "server");
  if (const json* env = member(metadata, "environment")) {
    info.server_version = get_string(*env, "server_version", "server.environment");
    info.server_name = get_string(*env, "server_name", "server.environment");
    info.server_pid = get_int(*env, "server_pid", "server.environment");
  }
  info.raw = metadata;
  return info;
}

StoragePool storage_pool_from_json(const json& metadata) {
  require_object(metadata, "storage pool");
  StoragePool p;
  p.name = get_string(metadata, "name", "storage pool");
  p.driver = get_string(metadata, "driver", "storage pool");
  p.config = get_string_map(metadata, "config", "storage pool");
  return p;
}

Network network_from_json(const json& metadata) {
  require_object(metadata, "network");
  Network n;
  n.name = get_string(metadata, "name", "network");
  n.type = metadata.value("type", "");
  n.managed = metadata.value("managed", false);
  n.description = metadata.value("description", "");
  n.config = get_string_map(metadata, "config", "network");
  return n;
}

json network_spec_to_json(const NetworkSpec& spec) {
  return json{{"name", spec.name}, {"type", spec.type}, {"description", spec.description}, {"config", spec.config}};
}

Profile profile_from_json(const json& metadata) {
  require_object(metadata, "profile");
  Profile p;
  p.name = get_string(metadata, "name", "profile");
  p.description = get_string(metadata, "description", "profile");
  p.config = get_string_map(metadata, "config", "profile");
  p.devices = get_devices(metadata, "devices", "profile");
  p.used_by = get_strings(metadata, "used_by", "profile");
  return p;
}

InstanceState instance_state_from_json(const json& metadata) {
  require_object(metadata, "instance state");
  InstanceState s;
  s.status = get_string(metadata, "status", "state");
  s.status_code = static_cast<int>(get_int(metadata, "status_code", "state"));
  s.pid = get_int(metadata, "pid", "state");
  s.raw = metadata;
  return s;
}

namespace {

// Every field of Instance but raw.
Instance instance_fields_from_json(const json& metadata) {
  require_object(metadata, "instance");
  Instance i;
  i.name = get_string(metadata, "name", "instance");
  i.status = get_string(metadata, "status", "instance");
  i.status_code = static_cast<int>(get_int(metadata, "status_code", "instance"));
  i.type = get_string(metadata, "type", "instance");
  i.profiles = get_strings(metadata, "profiles", "instance");
  i.config = get_string_map(metadata, "config", "instance");
  i.expanded_config = get_string_map(metadata, "expanded_config", "instance");
  i.devices = get_devices(metadata, "devices", "instance");
  i.expanded_devices = get_devices(metadata, "expanded_devices", "instance");
  i.created_at = get_string(metadata, "created_at", "instance");
  i.last_used_at = get_string(metadata, "last_used_at", "instance");
  i.ephemeral = get_bool(metadata, "ephemeral", "instance");
  if (const json* state = member(metadata, "state")) i.state = instance_state_from_json(*state);
  return i;
}

}  // namespace

Instance instance_from_json(const json& metadata) {
  Instance i = instance_fields_from_json(metadata);
  i.raw = metadata;
  return i;
}

Instance instance_from_json(json&& metadata) {
  Instance i = instance_fields_from_json(metadata);
  i.raw = std::move(metadata);
  return i;
}

ImageAlias image_alias_from_json(const json& metadata) {
  require_object(metadata, "image alias");
  ImageAlias a;
  a.name = get_string(metadata, "name", "alias");
  a.description = get_string(metadata, "description", "alias");
  a.target = get_string(metadata, "target", "alias");
  return a;
}

Image image_from_json(const json& metadata) {
  require_object(metadata, "image");
  Image img;
  img.fingerprint = get_string(metadata, "fingerprint", "image");
  img.architecture = get_string(metadata, "architecture", "image");
  img.type = get_string(metadata, "type", "image");
  img.size = get_int(metadata, "size", "image");
  img.properties = get_string_map(metadata, "properties", "image");
  img.created_at = get_string(metadata, "created_at", "image");
  img.uploaded_at = get_string(metadata, "uploaded_at", "image");
  if (const json* aliases = member(metadata, "aliases")) {
    if (!aliases->is_array()) shape_error("image", "aliases", *aliases);
    for (const auto& a : *aliases) {
      ImageAlias alias = image_alias_from_json(a);
      // Aliases embedded in an image carry no target: it is the image itself.
      if (alias.target.empty()) alias.target = img.fingerprint;
      img.aliases.push_back(std::move(alias));
    }
  }
  img.raw = metadata;
  return img;
}

Operation operation_from_json(const json& metadata) {
  require_object(metadata, "operation");
  Operation op;
  op.id = get_string(metadata, "id", "operation");
  op.status = get_string(metadata, "status", "operation");
  op.status_code = static_cast<int>(get_int(metadata, "status_code", "operation"));
  op.err = get_string(metadata, "err", "operation");
  if (const json* m = member(metadata, "metadata")) op.metadata = *m;
  op.raw = metadata;
  return op;
}

ExecRecord exec_record_from_json(const json& metadata) {
  ExecRecord rec;
  if (metadata.is_null()) return rec;
  require_object(metadata, "exec operation metadata");
  if (const json* ret = member(metadata, "return")) {
    if (!ret->is_number_integer()) shape_error("exec operation metadata", "return", *ret);
    rec.exit_code = ret->get<int>();
  }
  if (const json* output = member(metadata, "output")) {
    // Keyed by file descriptor number.
    const std::string what = "exec operation metadata.output";
    require_object(*output, what);
    rec.stdout_log = get_string(*output, "1", what);
    rec.stderr_log = get_string(*output, "2", what);
  }
  return rec;
}

std::string image_fingerprint_from_json(const json& metadata) {
  if (metadata.is_null()) return {};
  require_object(metadata, "image operation metadata");
  return get_string(metadata, "fingerprint", "image operation metadata");
}

json config_to_json(const Config& config) {
  json out = json::object();
  for (const auto& [k, v] : config) out[k] = v;
  return out;
}

json devices_to_json(const Devices& devices) {
  json out = json::object();
  for (const auto& [name, keys] : devices) out[name] = config_to_json(keys);
  return out;
}

json profile_spec_to_json(const ProfileSpec& spec, bool with_name) {
  json out = json::object();
  if (with_name) out["name"] = spec.name;
  out["description"] = spec.description;
  out["config"] = config_to_json(spec.config);
  out["devices"] = devices_to_json(spec.devices);
  return out;
}

json instance_spec_to_json(const InstanceSpec& spec) {
  json out = json::object();
  out["name"] = spec.name;
  out["type"] = "container";
  out["description"] = spec.description;
  // Left out when empty, LXD applies its "default" profile; an explicit [] would mean no profile.
  if (!spec.profiles.empty()) out["profiles"] = spec.profiles;
  out["config"] = config_to_json(spec.config);
  out["devices"] = devices_to_json(spec.devices);
  out["ephemeral"] = spec.ephemeral;
  json source = json::object();
  source["type"] = spec.source.type;
  if (spec.source.type == "image") {
    if (!spec.source.fingerprint.empty()) {
      source["fingerprint"] = spec.source.fingerprint;
    } else {
      source["alias"] = spec.source.alias;
    }
  }
  out["source"] = std::move(source);
  return out;
}

}  // namespace lxe::lxd
