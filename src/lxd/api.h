// The LXD operations the lxe daemon performs, as an interface: the reconciler and its executor
// (observe, create, start, stop, patch, delete instances and profiles), the import of the pods'
// namespace holder image, the health check, and the CRI facade (ExecSync, the image RPCs,
// ReopenContainerLog, Status and ImageFsInfo).
//
// Two implementations: lxd::Client (client.h) talks to LXD over its REST API; tests/support's
// MemoryLxd keeps LXD's objects in memory, so that those layers are unit-tested without LXD and
// with LXD's failures injected at will.
//
// The contract is the client's, and the fake mirrors it: every failure is an lxd::Error, whose
// kind tells LXD not answering (Transport, Timeout: unavailable()) from LXD busy for a moment with
// another operation on the object (Busy: transient()) and from LXD refusing (NotFound for a missing
// object, Conflict for a name that is taken, BadRequest for e.g. deleting a running instance,
// PreconditionFailed for an If-Match whose ETag no longer matches, OperationFailed for an async
// operation that failed, Server for LXD's 500s).
//
// Methods are const: an Api is a handle to an LXD and is shared between threads; calling it
// changes the LXD it stands for, not the handle. Default arguments are repeated, with the same
// values, by every implementation (C++ takes them from the static type of the call).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lxd/error.h"
#include "lxd/types.h"

namespace lxe::lxd {

enum class StopMode {
  Graceful,  // clean shutdown with a timeout, then forced if still running
  Force,     // hard stop now
};

class Api {
 public:
  virtual ~Api() = default;

  // LXD's unix socket. Its folder is LXD's own (images/, storage-pools/) when LXD runs on this
  // host: ImageFsInfo looks there. Also what messages about LXD name.
  virtual const std::string& socket_path() const = 0;

  // GET /1.0: whether LXD answers, its version, and its PID.
  virtual ServerInfo server_info() const = 0;

  // GET /1.0/storage-pools/<name>: its driver and config (the dir driver's `source` folder holds
  // the instances' root filesystems). NotFound for a pool that does not exist.
  virtual StoragePool get_storage_pool(const std::string& name) const = 0;

  // Networks (GET and POST /1.0/networks, DELETE /1.0/networks/<name>). NotFound for a network
  // that does not exist; create is Conflict for one that does.
  virtual Network get_network(const std::string& name) const = 0;
  virtual void create_network(const NetworkSpec& spec) const = 0;
  virtual void delete_network(const std::string& name) const = 0;  // refused while instances use it

  // Profiles. get_profile carries the ETag; lists do not. A patch merges: config keys (a key sent
  // as "" is removed) and whole devices by name.
  virtual std::vector<Profile> list_profiles() const = 0;
  virtual Profile get_profile(const std::string& name) const = 0;
  virtual void create_profile(const ProfileSpec& spec) const = 0;
  virtual void patch_profile(const std::string& name, const nlohmann::json& patch,
                             const std::string& if_match = "") const = 0;
  virtual void delete_profile(const std::string& name) const = 0;  // refused while instances use it

  // Instances. `filter` is LXD's filter expression (e.g. "config.user.lxe.managed eq true");
  // `with_state` includes each instance's state (a /state call per instance inside LXD).
  virtual std::vector<Instance> list_instances(const std::string& filter = "", bool with_state = false) const = 0;
  virtual Instance get_instance(const std::string& name) const = 0;
  virtual InstanceState get_instance_state(const std::string& name) const = 0;  // slow: off hot paths
  virtual void create_instance(const InstanceSpec& spec) const = 0;  // created stopped
  virtual void patch_instance(const std::string& name, const nlohmann::json& patch,
                              const std::string& if_match = "") const = 0;
  virtual void delete_instance(const std::string& name) const = 0;  // BadRequest while it runs
  // Gives a stopped instance another name (LXD refuses while it runs, or when the name is taken).
  virtual void rename_instance(const std::string& name, const std::string& new_name) const = 0;
  virtual void start_instance(const std::string& name) const = 0;
  // Graceful: asks for a clean shutdown, waits up to `graceful_timeout`, then stops by force.
  // Stopping an instance that is already stopped succeeds.
  virtual void stop_instance(const std::string& name, StopMode mode,
                             std::chrono::seconds graceful_timeout = std::chrono::seconds(30)) const = 0;
  // Runs `command` (argv, no shell, no terminal, no stdin) in a running instance and returns its
  // exit code and output; a command LXD reports as not found is exit code 127 with
  // command_not_found set. BadRequest when the instance does not run; OperationFailed when the
  // command cannot be started otherwise; Timeout when it still runs at `timeout`.
  virtual ExecResult exec(const std::string& instance, const std::vector<std::string>& command,
                          const Config& environment = {}, const std::string& cwd = "",
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt) const = 0;

  // Images.
  virtual std::vector<Image> list_images() const = 0;
  virtual Image get_image(const std::string& fingerprint) const = 0;  // full fingerprint or unique prefix
  virtual ImageAlias get_image_alias(const std::string& name) const = 0;
  // Uploads a unified image tarball, sets `properties` on it and points `alias` at it; returns its
  // fingerprint. The same content again is fine; Conflict when `alias` names another image (and
  // nothing uploaded for the call is left behind).
  virtual std::string import_image(const std::string& tarball, const std::string& alias,
                                   const std::map<std::string, std::string>& properties = {}) const = 0;
  // The same with the tarball read from the file at `path`, streamed (images of hundreds of MB).
  virtual std::string import_image_file(const std::string& path, const std::string& alias,
                                        const std::map<std::string, std::string>& properties = {}) const = 0;
  // Deletes an image and its aliases; waits for the operation. NotFound when it is not there.
  virtual void delete_image(const std::string& fingerprint) const = 0;
  // Has LXD download an image from another image server and waits up to `timeout`; returns its
  // fingerprint. An image already there is not downloaded again. OperationFailed with LXD's
  // message when the server refuses or lacks it; Timeout when LXD is still at it (its download
  // goes on: LXD cannot cancel it).
  virtual std::string pull_remote_image(const RemoteImageSource& source, std::chrono::milliseconds timeout) const = 0;
  // Merges `properties` into an image's and points `alias` at it (Conflict when the alias names
  // another image).
  virtual void tag_image(const std::string& fingerprint, const std::string& alias,
                         const std::map<std::string, std::string>& properties) const = 0;
};

}  // namespace lxe::lxd
