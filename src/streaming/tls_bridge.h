// TLS for the streaming server (--streaming-tls-cert/--streaming-tls-key), kept out of the
// protocols: a bridge ends TLS on the accepted connection and hands the session a plain socket
// pair end, so SPDY, WebSocket and HTTP parsing never know TLS is there. OpenSSL through
// Boost.Asio's ssl::stream, one I/O thread per bridge.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace lxe::streaming {

// A server context from PEM files (certificate chain, private key); TLS 1.2 or newer. Throws
// std::runtime_error naming the file when one cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_server_context(const std::string& cert_file,
                                                                   const std::string& key_file);

class TlsBridge {
 public:
  enum class Role { Server, Client };  // Client: the tests' side of a connection
  // `tcp_fd` stays the caller's (it is duplicated); shutting it down ends the bridge.
  TlsBridge(int tcp_fd, boost::asio::ssl::context& context, Role role = Role::Server);
  ~TlsBridge();  // stops copying and joins the I/O thread
  TlsBridge(const TlsBridge&) = delete;
  TlsBridge& operator=(const TlsBridge&) = delete;

  // The TLS handshake, bounded by `timeout`; "" when it succeeded, else why not.
  std::string handshake(std::chrono::milliseconds timeout);
  // Starts copying between TLS and a socket pair; returns the pair's plaintext end (the bridge
  // owns it). Either side's end of stream is passed on to the other.
  int start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lxe::streaming
