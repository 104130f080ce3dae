// Conversions between LXD's JSON objects and the typed values of types.h.
//
// Decoding is lenient about what LXD leaves out or sends as null (a missing map is empty), and strict
// about shape: a field of the wrong JSON type raises Error{Protocol}, never a json exception.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lxd/types.h"

namespace lxe::lxd {

ServerInfo server_info_from_json(const nlohmann::json& metadata);
Profile profile_from_json(const nlohmann::json& metadata);
Network network_from_json(const nlohmann::json& metadata);
nlohmann::json network_spec_to_json(const NetworkSpec& spec);
StoragePool storage_pool_from_json(const nlohmann::json& metadata);
Instance instance_from_json(const nlohmann::json& metadata);
// The same, moving `metadata` into Instance::raw instead of copying it: for lists, where a copy of
// every instance's JSON doubled the memory and a third of the time of decoding a list of 1000.
Instance instance_from_json(nlohmann::json&& metadata);
InstanceState instance_state_from_json(const nlohmann::json& metadata);
Image image_from_json(const nlohmann::json& metadata);
ImageAlias image_alias_from_json(const nlohmann::json& metadata);
Operation operation_from_json(const nlohmann::json& metadata);

// The metadata of a finished exec operation started with record-output: the exit code and the
// paths (under /1.0/instances/<name>/logs/) LXD recorded stdout and stderr in. A failed exec
// (command not found) reports them too; a path LXD left out is empty.
struct ExecRecord {
  std::optional<int> exit_code;
  std::string stdout_log;
  std::string stderr_log;
};
ExecRecord exec_record_from_json(const nlohmann::json& operation_metadata);

// The fingerprint an image upload operation reports in its metadata, even when it failed; empty
// when there is none.
std::string image_fingerprint_from_json(const nlohmann::json& operation_metadata);

// The body of POST /1.0/profiles (with_name) or of PUT /1.0/profiles/<name> (without).
nlohmann::json profile_spec_to_json(const ProfileSpec& spec, bool with_name);
// The body of POST /1.0/instances.
nlohmann::json instance_spec_to_json(const InstanceSpec& spec);

nlohmann::json config_to_json(const Config& config);
nlohmann::json devices_to_json(const Devices& devices);

}  // namespace lxe::lxd
