// Plain values exchanged with LXD. Only the fields lxe reads are typed; the raw JSON stays available
// for everything else, so the client never drops what LXD sent.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lxe::lxd {

using Config = std::map<std::string, std::string>;
// device name -> device keys (type, path, source, ...)
using Devices = std::map<std::string, std::map<std::string, std::string>>;

struct ServerInfo {
  std::string api_version;         // "1.0"
  std::string server_version;      // environment.server_version, e.g. "5.0.2"
  std::string server_name;         // environment.server_name
  int64_t server_pid = 0;          // environment.server_pid: the LXD daemon's PID; 0 when not reported
  std::vector<std::string> api_extensions;
  nlohmann::json raw;
};

// The part of GET /1.0/storage-pools/<name> lxe reads: where an instance's root filesystem is.
struct StoragePool {
  std::string name;
  std::string driver;  // "dir", "btrfs", "zfs", "lvm", ...
  Config config;       // "source": the pool's folder for the dir driver
};

// A network as GET /1.0/networks/<name> shows it (the part lxe reads).
struct Network {
  std::string name;
  std::string type;  // "bridge", "physical", ...
  bool managed = false;  // made by LXD (lxc network create), not a host interface it found
  std::string description;
  Config config;  // "ipv4.address": the bridge's own address with the prefix, "10.233.0.1/16"
};

// What to create: POST /1.0/networks.
struct NetworkSpec {
  std::string name;
  std::string type = "bridge";
  std::string description;
  Config config;
};

struct Profile {
  std::string name;
  std::string description;
  Config config;
  Devices devices;
  std::vector<std::string> used_by;
  std::string etag;  // from the ETag header of a single GET; empty in lists
};

// What to create or PUT: the writable part of a profile.
struct ProfileSpec {
  std::string name;
  std::string description;
  Config config;
  Devices devices;
};

// The part of GET /1.0/instances/<name>/state lxe reads. Expensive on this LXD (~100 ms): never on a
// hot path.
struct InstanceState {
  std::string status;  // "Running", "Stopped", ...
  int status_code = 0;
  int64_t pid = 0;     // init PID on the host, 0 when stopped
  nlohmann::json raw;
};

struct Instance {
  std::string name;
  std::string status;  // "Running", "Stopped", "Frozen", "Error", ...
  int status_code = 0;  // 103 running, 102 stopped, ...
  std::string type;     // "container"
  std::vector<std::string> profiles;
  Config config;           // local config only
  Config expanded_config;  // profiles applied
  Devices devices;
  Devices expanded_devices;
  std::string created_at;
  std::string last_used_at;
  bool ephemeral = false;
  std::optional<InstanceState> state;  // present when listed with recursion=2
  std::string etag;  // from the ETag header of a single GET; empty in lists
  nlohmann::json raw;

  bool running() const { return status_code == 103; }
};

struct InstanceSource {
  std::string type = "image";  // "image" or "none"
  std::string alias;           // local image alias, or
  std::string fingerprint;     // local image fingerprint
};

struct InstanceSpec {
  std::string name;
  std::string description;
  std::vector<std::string> profiles;
  Config config;
  Devices devices;
  InstanceSource source;
  bool ephemeral = false;
};

struct ImageAlias {
  std::string name;
  std::string description;
  std::string target;  // fingerprint
};

struct Image {
  std::string fingerprint;
  std::string architecture;
  std::string type;  // "container" or "virtual-machine"
  int64_t size = 0;
  std::vector<ImageAlias> aliases;
  std::map<std::string, std::string> properties;
  std::string created_at;
  std::string uploaded_at;
  nlohmann::json raw;
};

// An image on another image server, for LXD to download (POST /1.0/images, source type "image",
// mode "pull").
struct RemoteImageSource {
  std::string server;       // "https://images.example.org"
  std::string protocol;     // "simplestreams" or "lxd"
  std::string alias;        // the remote's alias, or
  std::string fingerprint;  // the image's fingerprint (or a prefix)
  std::string certificate;  // PEM of the server's certificate; "" to trust the system's CAs
};

// What a command run with exec gave: its exit code and everything it wrote.
struct ExecResult {
  int exit_code = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool command_not_found = false;  // LXD said "Command not found" (it does for any exit code 127)
};

// An async operation as LXD reports it.
struct Operation {
  std::string id;
  std::string status;  // "Running", "Success", "Failure", "Cancelled"
  int status_code = 0;  // 103 running, 200 success, 400 failure, 401 cancelled
  std::string err;
  nlohmann::json metadata;
  nlohmann::json raw;

  bool done() const { return status_code >= 200; }
  bool succeeded() const { return status_code == 200; }
};

}  // namespace lxe::lxd
