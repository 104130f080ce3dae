// A typed client for LXD's REST API on its unix socket.
//
// Each request opens its own connection: connecting to a unix socket costs microseconds, it makes
// the client safe to share between threads without a lock, and it reconnects by itself when LXD
// restarts and its socket comes back. Every request has a timeout; waits on async operations are
// bounded too, so no caller can hang on LXD.
//
// It implements lxd::Api (api.h), the operations the daemon uses; the raw request, operation waits
// and the calls only tools and tests need (update_profile, delete_image) are its own.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lxd/api.h"
#include "lxd/error.h"
#include "lxd/request_observer.h"
#include "lxd/types.h"

namespace httplib {
struct Request;
}

namespace lxe::lxd {

struct ClientOptions {
  std::string socket_path;
  std::chrono::milliseconds connect_timeout{2000};
  // Applies to each request (read and write); operation waits use their own bound.
  std::chrono::milliseconds request_timeout{30000};
  // Upper bound for waiting on an async operation (create, start, stop, delete, ...).
  std::chrono::milliseconds operation_timeout{120000};
  // Told of every request (lxe's /metrics); not owned, and must outlive the client. May be null.
  RequestObserver* observer = nullptr;
};

// The raw result of one request: what LXD's standard response envelope carried.
struct Response {
  int http_status = 0;
  std::string type;  // "sync" or "async"
  int status_code = 0;
  nlohmann::json metadata;
  std::string operation;  // async: "/1.0/operations/<id>"
  std::string etag;
};

class Client final : public Api {
 public:
  explicit Client(ClientOptions options);

  const ClientOptions& options() const { return options_; }
  const std::string& socket_path() const override { return options_.socket_path; }

  // One request. Throws lxd::Error for transport failures and for LXD's error responses.
  // `if_match` sends If-Match for PUT/PATCH with an ETag from a previous GET.
  Response request(const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body = std::nullopt,
                   const std::string& if_match = "",
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;

  // Waits (bounded by `timeout`, default options().operation_timeout) until the operation ends.
  // Throws Error{OperationFailed} if it failed, Error{Timeout} if it is still running at the bound.
  Operation wait_operation(const std::string& operation_path,
                           std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;

  // GET /1.0
  ServerInfo server_info() const override;

  // GET /1.0/storage-pools/<name>
  StoragePool get_storage_pool(const std::string& name) const override;
  Network get_network(const std::string& name) const override;
  std::vector<Network> list_networks() const;  // lxe needs none; the tests' sweep does
  void create_network(const NetworkSpec& spec) const override;
  void delete_network(const std::string& name) const override;

  // Profiles.
  std::vector<Profile> list_profiles() const override;
  Profile get_profile(const std::string& name) const override;
  void create_profile(const ProfileSpec& spec) const override;
  void update_profile(const ProfileSpec& spec, const std::string& if_match = "") const;  // PUT
  void patch_profile(const std::string& name, const nlohmann::json& patch,
                     const std::string& if_match = "") const override;
  void delete_profile(const std::string& name) const override;

  // Instances.
  // `filter` is LXD's filter expression (e.g. "config.user.lxe.managed eq true"); recursion=2
  // includes each instance's state, which costs a /state call per instance inside LXD.
  std::vector<Instance> list_instances(const std::string& filter = "", bool with_state = false) const override;
  Instance get_instance(const std::string& name) const override;
  InstanceState get_instance_state(const std::string& name) const override;  // slow: keep off hot paths
  void create_instance(const InstanceSpec& spec) const override;  // waits for the operation
  void patch_instance(const std::string& name, const nlohmann::json& patch,
                      const std::string& if_match = "") const override;
  void delete_instance(const std::string& name) const override;  // waits; the instance must be stopped
  void rename_instance(const std::string& name, const std::string& new_name) const override;  // waits
  void start_instance(const std::string& name) const override;
  // Graceful: asks for a clean shutdown, waits up to `graceful_timeout`, then stops by force.
  // Stopping an instance that is already stopped succeeds.
  void stop_instance(const std::string& name, StopMode mode,
                     std::chrono::seconds graceful_timeout = std::chrono::seconds(30)) const override;

  // Runs `command` (argv; no shell) in a running instance, without a terminal or stdin, and
  // returns its exit code and output. LXD records the output in log files, which this reads and
  // then deletes. A command LXD reports as "Command not found" (LXD 5.0 says so for any exit code
  // 127) is a result with exit code 127 and command_not_found set. Throws
  // Error{BadRequest} when the instance is not running, Error{OperationFailed} with LXD's message
  // when the command cannot be started otherwise, and Error{Timeout} when the command is still running at `timeout` (default
  // options().operation_timeout). LXD has no timeout of its own for the command: it keeps running
  // after a Timeout, so callers that need one wrap the command in an in-container timeout.
  ExecResult exec(const std::string& instance, const std::vector<std::string>& command,
                  const Config& environment = {}, const std::string& cwd = "",
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt) const override;

  // Images.
  std::vector<Image> list_images() const override;
  Image get_image(const std::string& fingerprint) const override;  // full fingerprint or unique prefix
  ImageAlias get_image_alias(const std::string& name) const override;
  // Uploads a unified image (one tar, compressed or not, with metadata.yaml and rootfs/), sets
  // `properties` on it and points the alias `alias` at it; returns the image's fingerprint.
  // Uploading an image that is already there (same content) is fine. Throws Error{Conflict} when
  // the alias exists and points at another image; the image uploaded for the call is then
  // deleted again, so a failed import leaves nothing behind.
  std::string import_image(const std::string& tarball, const std::string& alias,
                           const std::map<std::string, std::string>& properties = {}) const override;
  std::string import_image_file(const std::string& path, const std::string& alias,
                                const std::map<std::string, std::string>& properties = {}) const override;
  // Deletes an image and its aliases; waits for the operation.
  void delete_image(const std::string& fingerprint) const override;
  std::string pull_remote_image(const RemoteImageSource& source, std::chrono::milliseconds timeout) const override;
  void tag_image(const std::string& fingerprint, const std::string& alias,
                 const std::map<std::string, std::string>& properties) const override;

 private:
  Operation run_operation(const Response& async_response) const;
  // Waits like wait_operation() but returns the operation however it ended: a failed exec or
  // image upload still carries metadata the caller needs. Throws only for Timeout and transport.
  Operation await_operation(const std::string& operation_path,
                            std::optional<std::chrono::milliseconds> timeout) const;
  // The upload both import_image calls share: sends `req`, waits, sets properties and the alias.
  std::string upload_image(httplib::Request&& req, const std::string& alias,
                           const std::map<std::string, std::string>& properties) const;
  // Creates the alias, or finds it already pointing at `fingerprint`.
  void ensure_image_alias(const std::string& alias, const std::string& fingerprint) const;

  ClientOptions options_;
};

}  // namespace lxe::lxd
