#include "streaming/tls_bridge.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <thread>

#include "common/unique_fd.h"
#include "streaming/asio_fd.h"

namespace lxe::streaming {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_server_context(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("cannot use the TLS certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot use the TLS key " + key_file + ": " + ec.message());
  return context;
}

struct TlsBridge::Impl {
  Impl(int tcp_fd, asio::ssl::context& context, Role r) : tls(io, context), plain(io), role(r) {
    assign_duplicate(tls.next_layer(), tcp_fd);
  }

  // TLS to plaintext; the client's end of stream ends the pair's write side.
  void pump_in() {
    tls.async_read_some(asio::buffer(in), [this](error_code ec, size_t n) {
      if (ec) {
        error_code ignored;
        plain.shutdown(asio::socket_base::shutdown_send, ignored);
        return;
      }
      asio::async_write(plain, asio::buffer(in, n), [this](error_code ec, size_t) {
        if (!ec) pump_in();
      });
    });
  }

  // Plaintext to TLS; the session's end of stream ends the TCP connection's write side.
  void pump_out() {
    plain.async_read_some(asio::buffer(out), [this](error_code ec, size_t n) {
      if (ec) {
        error_code ignored;
        tls.next_layer().shutdown(asio::socket_base::shutdown_send, ignored);
        return;
      }
      asio::async_write(tls, asio::buffer(out, n), [this](error_code ec, size_t) {
        if (!ec) pump_out();
      });
    });
  }

  asio::io_context io;
  asio::ssl::stream<tcp::socket> tls;
  asio::local::stream_protocol::socket plain;
  UniqueFd plain_end;
  const Role role;
  std::array<char, 32 * 1024> in{};
  std::array<char, 32 * 1024> out{};
  std::thread thread;
};

TlsBridge::TlsBridge(int tcp_fd, asio::ssl::context& context, Role role)
    : impl_(std::make_unique<Impl>(tcp_fd, context, role)) {}

TlsBridge::~TlsBridge() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string TlsBridge::handshake(std::chrono::milliseconds timeout) {
  std::string problem = "timed out";
  asio::steady_timer timer(impl_->io, timeout);
  timer.async_wait([this](error_code ec) {
    if (!ec) {
      error_code ignored;
      impl_->tls.next_layer().cancel(ignored);
    }
  });
  impl_->tls.async_handshake(impl_->role == Role::Server ? asio::ssl::stream_base::server
                                                          : asio::ssl::stream_base::client,
                             [&](error_code ec) {
                               problem = ec ? ec.message() : "";
                               timer.cancel();
                             });
  impl_->io.run();
  impl_->io.restart();
  return problem;
}

int TlsBridge::start() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) throw std::runtime_error("socketpair failed");
  impl_->plain_end.reset(pair[0]);
  impl_->plain.assign(asio::local::stream_protocol(), pair[1]);
  impl_->pump_in();
  impl_->pump_out();
  impl_->thread = std::thread([this] { impl_->io.run(); });
  return impl_->plain_end.get();
}

}  // namespace lxe::streaming
