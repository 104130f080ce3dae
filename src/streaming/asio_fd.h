// Handing an accepted connection to Boost.Asio without giving it away: the socket object gets a
// duplicate of the descriptor, so the server keeps its own for shutting the connection down.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>

namespace lxe::streaming {

inline void assign_duplicate(boost::asio::ip::tcp::socket& socket, int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  const int own = ::dup(fd);
  if (own < 0) throw std::runtime_error("cannot duplicate the connection's descriptor");
  // A socket pair's end (after TLS) works as either: Asio only reads and writes it.
  socket.assign(local.ss_family == AF_INET6 ? boost::asio::ip::tcp::v6() : boost::asio::ip::tcp::v4(), own);
}

}  // namespace lxe::streaming
