// A small stand-in for LXD on a unix socket, for fault injection only: error answers, hangs, slow
// or malformed answers, operations that fail or never end, and the socket going away and coming
// back. Everything real LXD can do for a test, real LXD does (tests/integration).
//
// Tests register handlers per (method, path); a request with no handler gets LXD's 404 envelope.
// Handlers run on the server's threads. The server listens from construction until stop() or
// destruction; stop() also wakes handlers blocked in sleep_for(), so a hanging handler never holds
// up the test's end.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lxe::test {

class FakeLxd {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  struct RecordedRequest {
    std::string method;
    std::string path;  // without the query
    httplib::Params params;
    httplib::Headers headers;
    std::string body;

    std::string header(const std::string& name) const;
    std::string param(const std::string& name) const;
  };

  FakeLxd();  // makes a temporary directory and starts listening in it
  ~FakeLxd();
  FakeLxd(const FakeLxd&) = delete;
  FakeLxd& operator=(const FakeLxd&) = delete;

  const std::string& socket_path() const { return socket_path_; }

  // Answers `method path` (path without query) with `handler`, replacing an earlier handler.
  void on(const std::string& method, const std::string& path, Handler handler);

  // Every request received so far, in order; and those for one method and path.
  std::vector<RecordedRequest> requests() const;
  std::vector<RecordedRequest> requests(const std::string& method, const std::string& path) const;

  // Stops listening and removes the socket, as when LXD goes away. Wakes sleeping handlers.
  void stop();
  // Listens again on the same socket path, with the same handlers.
  void start();

  // For handlers: sleeps up to `duration`; returns false when woken early by stop().
  bool sleep_for(std::chrono::milliseconds duration);

  // Writers of LXD's response envelopes.
  static void reply_sync(httplib::Response& res, const nlohmann::json& metadata,
                         const std::string& etag = "");
  static void reply_error(httplib::Response& res, int http_status, const std::string& message);
  // An async answer for operation `id` (still running).
  static void reply_async(httplib::Response& res, const std::string& id,
                          const std::string& description = "Doing something");
  // The metadata of an operation: status_code 103 running, 200 success, 400 failure, 401 cancelled.
  static nlohmann::json operation(const std::string& id, int status_code,
                                  const std::string& err = "",
                                  const std::string& description = "Doing something");

 private:
  void dispatch(const httplib::Request& req, httplib::Response& res);

  std::string dir_;
  std::string socket_path_;

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Handler> handlers_;
  std::vector<RecordedRequest> requests_;
  bool stopping_ = false;
  std::condition_variable wake_;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace lxe::test
