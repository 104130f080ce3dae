// What an OCI image says about the process a container of it runs, and CRI's rules for merging that
// with the container's own config (the same rules containerd and CRI-O follow).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/v1/api.pb.h"

namespace lxe::model {

// The parts of an OCI image configuration (its "config" object) lxe keeps.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string working_dir;
  std::string user;  // "", "name", "uid", "name:group", "uid:gid"
  std::string stop_signal;
  std::vector<std::string> exposed_ports;  // "8080/tcp"
  std::map<std::string, std::string> labels;
};

// The users and groups of the image's /etc/passwd and /etc/group, by name: what a user name in
// the image config or in a container's security context resolves with.
struct ImageUsers {
  struct User {
    int64_t uid = 0;
    int64_t gid = 0;
  };
  std::map<std::string, User> users;
  std::map<std::string, int64_t> groups;
};

// Everything lxe keeps of a pulled OCI image for its containers.
struct ImageDefaults {
  ImageConfig config;
  ImageUsers users;
};

// From an OCI image config blob (the JSON with "architecture", "config", "rootfs"...). Fields of
// the wrong type are ignored; throws std::runtime_error only when the blob is not an object.
ImageConfig parse_oci_image_config(const nlohmann::json& blob);
// From the text of /etc/passwd and /etc/group; malformed lines are skipped.
ImageUsers parse_image_users(const std::string& passwd, const std::string& group);

// The stored form (the image record's and the container record's copy), and back. from_json
// throws std::runtime_error on something that is not an object.
nlohmann::json to_json(const ImageDefaults& defaults);
ImageDefaults image_defaults_from_json(const nlohmann::json& stored);

// CRI's Image.uid and Image.username for an image's user: its user part (before ':') as a number,
// or as a name. "" → neither.
struct CriImageUser {
  std::optional<int64_t> uid;
  std::string username;
};
CriImageUser cri_image_user(const std::string& user);

// The process a container runs.
struct ContainerProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V", image's first, the container's overriding by key
  std::string cwd;               // "" when neither sets one
  std::optional<int64_t> uid;    // unset: the image's init or lxe-init's default (root)
  std::optional<int64_t> gid;
  std::optional<int> stop_signal;  // the image's StopSignal; unset: SIGTERM
};

// A signal by the names images use ("SIGQUIT", "QUIT", "3", "SIGRTMIN+3"); nullopt when unknown.
std::optional<int> signal_number(const std::string& name);

// Merges a container's config with its image's defaults (`image` null for an LXD image, which has
// none): `command` replaces the entrypoint, `args` replace cmd; env merged by key; working dir and
// user from the image unless the container sets them (run_as_user, run_as_username, run_as_group).
// Returns why not when the result cannot run: no command from either, or a user or group name the
// image does not know.
std::variant<ContainerProcess, std::string> container_process(const runtime::v1::ContainerConfig& config,
                                                              const ImageDefaults* image);

}  // namespace lxe::model
