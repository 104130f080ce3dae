// The requests a streaming URL stands for, and the one-time tokens that name them.
//
// An Exec, Attach or PortForward call validates its request and leaves it here; the URL it
// returns carries only the token. The token is good for one connection, for a short time, and only
// on the path of its own kind; it lives in memory, so URLs from before an lxe restart answer 404.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lxe::streaming {

struct ExecRequest {
  std::string container_id;
  std::vector<std::string> cmd;
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

struct AttachRequest {
  std::string container_id;
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

struct PortForwardRequest {
  std::string pod_id;
  std::vector<int32_t> ports;  // empty: any port the client names
};

using Request = std::variant<ExecRequest, AttachRequest, PortForwardRequest>;

// "exec", "attach" or "portforward": the URL path's first element.
const char* path_of(const Request& request);

class RequestCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  RequestCache(std::chrono::milliseconds ttl, size_t capacity, Clock clock = std::chrono::steady_clock::now);

  // A new token for `request`; nullopt when `capacity` unexpired tokens wait already.
  std::optional<std::string> insert(Request request);
  // Takes the token's request when it exists, has not expired and is of the kind `path` names.
  // A token is consumed by its first use, whatever the outcome.
  std::optional<Request> consume(const std::string& token, const std::string& path);
  size_t size() const;

 private:
  struct Entry {
    Request request;
    std::chrono::steady_clock::time_point expires;
  };
  void drop_expired(std::chrono::steady_clock::time_point now);  // mutex held

  const std::chrono::milliseconds ttl_;
  const size_t capacity_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

// 32 hex digits from the kernel's random source: not guessable, safe in a URL path.
std::string new_token();

}  // namespace lxe::streaming
