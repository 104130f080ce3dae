// lxe's streaming server: the HTTP listener behind the URLs that Exec, Attach and PortForward
// return. A URL is http://<address>/<exec|attach|portforward>/<token>; the client upgrades its
// request to SPDY/3.1 (kubelet, crictl, critest) and the session runs on that connection.
//
// Each connection has a thread of its own (sessions are few and long; kubelet's own server works
// the same way), bounded by max_sessions. Nothing here survives a restart: old URLs answer 404.
// With a certificate and key, every connection is TLS (https URLs), ended by a TlsBridge.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "common/unique_fd.h"
#include "streaming/tls_bridge.h"
#include "streaming/requests.h"
#include "streaming/runtime.h"

namespace lxe::streaming {

struct ServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal
  uint16_t port = 0;                   // 0: any free port
  std::chrono::milliseconds token_ttl{std::chrono::minutes(1)};
  size_t max_waiting_tokens = 1000;
  size_t max_sessions = 128;
  // How long the client has to send its request, and to open its streams once upgraded.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds stream_creation_timeout{std::chrono::seconds(30)};
  // PEM files: with both, the server speaks TLS only and its URLs are https.
  std::string tls_cert;
  std::string tls_key;
};

// Refusals of a request for a URL.
struct UrlError {
  std::string message;
};

class Server {
 public:
  // Binds the listener (throws std::runtime_error naming the address when it cannot); serves
  // nothing until start().
  Server(ServerOptions options, Runtime& runtime);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  // Closes the listener, ends every session (their commands get the client's disconnect) and
  // joins every thread.
  void stop();

  // The URL for `request`, good once for options.token_ttl; UrlError when too many URLs wait.
  std::variant<std::string, UrlError> url_for(Request request);
  // "http://127.0.0.1:39211": the address clients connect to (a wildcard bind gives loopback).
  const std::string& base_url() const { return base_url_; }
  uint16_t port() const { return port_; }
  // Connections being served now (tests check that ended sessions leave no thread behind).
  size_t active_connections() const;

 private:
  struct Connection {
    UniqueFd fd;
    Cancellation cancelled;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Connection& connection);
  // After TLS, if any: `fd` is the plaintext side.
  void serve_http(Connection& connection, int fd);
  void serve_websocket(Connection& connection, int fd, const boost::beast::http::request<boost::beast::http::empty_body>& request,
                       const std::string& kind, const Request& session);
  void reap_finished();  // mutex_ held

  const ServerOptions options_;
  Runtime& runtime_;
  RequestCache requests_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::string base_url_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace lxe::streaming
