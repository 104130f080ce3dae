#include "init/attach_hub.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "init/sys.h"

namespace lxe::init {
namespace {

using attach::FrameType;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

Fd listen_on(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw std::system_error(ENAMETOOLONG, std::generic_category(), "cannot listen on " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_errno("cannot create a socket");
  // A socket file left by an earlier run of the container (lxe-init killed) refuses connections.
  ::unlink(path.c_str());
  // Owner only from the start: a chmod after bind would leave a moment open. We are single-threaded,
  // so the umask change affects nothing else.
  const mode_t old_mask = ::umask(0177);
  const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  ::umask(old_mask);
  if (rc != 0) throw_errno("cannot listen on " + path);
  if (::listen(fd.get(), 16) != 0) throw_errno("cannot listen on " + path);
  return fd;
}

}  // namespace

AttachHub::AttachHub(std::string path, Options options, Workload& workload)
    : path_(std::move(path)), options_(options), workload_(workload), listener_(listen_on(path_)) {}

AttachHub::~AttachHub() {
  if (listener_.valid()) ::unlink(path_.c_str());
}

void AttachHub::add_to(PollSet& set) {
  std::erase_if(clients_, [](const auto& c) { return !c->fd.valid(); });
  if (listener_.valid()) set.add(listener_.get(), POLLIN, [this](short) { accept_clients(); });
  const bool read_input = !workload_.input_full();
  for (auto& owned : clients_) {
    Client& client = *owned;
    short events = 0;
    // A closing client is no longer read; a hangup still shows (poll reports it always).
    if (!client.closing && read_input) events |= POLLIN;
    if (!client.pending.empty()) events |= POLLOUT;
    set.add(client.fd.get(), events, [this, &client](short revents) { on_client(client, revents); });
  }
}

void AttachHub::accept_clients() {
  while (true) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EINTR) continue;
      // EAGAIN: all taken. Anything else (out of fds) also waits for the next round.
      return;
    }
    if (clients_.size() >= kMaxClients) {
      message("attach: refusing a client, " + std::to_string(kMaxClients) + " are attached already");
      continue;  // closed here
    }
    auto client = std::make_unique<Client>();
    client->fd = std::move(fd);
    clients_.push_back(std::move(client));
  }
}

void AttachHub::on_client(Client& client, short revents) {
  if (!client.fd.valid()) return;  // dropped earlier in this round
  if (revents & POLLOUT) flush(client);
  if (client.fd.valid() && (revents & (POLLIN | POLLHUP | POLLERR))) {
    if (client.closing) {
      drop(client);  // the peer hung up before it got the rest: nothing to wait for
    } else {
      read_client(client);
    }
  }
}

void AttachHub::read_client(Client& client) {
  char buffer[64 * 1024];
  const ssize_t n = ::read(client.fd.get(), buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    drop(client);
    return;
  }
  client.decoder.feed(std::string_view(buffer, static_cast<size_t>(n)));
  while (client.fd.valid() && !client.closing) {
    const auto frame = client.decoder.next();
    if (!frame) break;
    handle_frame(client, *frame);
  }
  if (!client.decoder.error().empty()) {
    message("attach: " + client.decoder.error() + "; client disconnected");
    drop(client);
  }
}

void AttachHub::handle_frame(Client& client, const attach::Frame& frame) {
  if (!client.greeted) {
    const auto hello = frame.type == FrameType::Hello ? attach::parse_hello(frame.payload) : std::nullopt;
    if (!hello || hello->version != attach::kVersion) {
      message("attach: a client did not start with a Hello of version " + std::to_string(attach::kVersion) +
              "; disconnected");
      drop(client);
      return;
    }
    client.greeted = true;
    client.wants_stdout = hello->wants(attach::kWantStdout);
    client.wants_stderr = hello->wants(attach::kWantStderr);
    // Without stdin in the container (or after stdin_once closed it) the client's input is not
    // read, as in containerd: its end then changes nothing either.
    client.has_stdin = hello->wants(attach::kWantStdin) && workload_.input_open();
    return;
  }
  switch (frame.type) {
    case FrameType::Stdin:
      if (client.has_stdin && !client.stdin_ended) workload_.input(frame.payload);
      break;
    case FrameType::StdinEnd:
      if (client.has_stdin && !client.stdin_ended && !end_client_stdin(client)) {
        // What it has been sent still goes out; then the connection closes, without Exit.
        client.closing = true;
        flush(client);
      }
      break;
    case FrameType::Resize:
      if (const auto size = attach::parse_resize(frame.payload); size && options_.tty) workload_.resize(*size);
      break;
    case FrameType::Stop:
      if (const auto grace = attach::parse_stop(frame.payload)) {
        // Carried out even when the client is gone by now: lxe may have died right after asking,
        // and the stop it asked for must still happen.
        send(client, attach::encode(FrameType::Stopping));
        workload_.stop(*grace);
      }
      break;
    default:
      break;  // Hello again, or a type of a later lxe: nothing to do
  }
}

bool AttachHub::end_client_stdin(Client& client) {
  client.stdin_ended = true;
  if (options_.stdin_once && !options_.tty) {
    workload_.end_input();
    return true;
  }
  return false;
}

void AttachHub::output(FrameType stream, std::string_view bytes) {
  for (auto& owned : clients_) {
    Client& client = *owned;
    if (!client.fd.valid() || !client.greeted || client.closing) continue;
    if (!(stream == FrameType::Stdout ? client.wants_stdout : client.wants_stderr)) continue;
    if (client.pending.size() + bytes.size() > kClientBacklog) {
      // The CRI log must not wait for an attach client, and lxe-init must not hold megabytes for
      // one: a client this far behind loses its session instead.
      message("attach: a client reads too slowly (over " + std::to_string(kClientBacklog >> 20) +
              " MiB of output waiting); disconnected");
      drop(client);
      continue;
    }
    std::string frames;
    attach::append_data(frames, stream, bytes);
    send(client, std::move(frames));
  }
}

void AttachHub::send(Client& client, std::string frames) {
  client.pending.append(frames);
  flush(client);
}

void AttachHub::flush(Client& client) {
  while (!client.pending.empty()) {
    const ssize_t n = ::send(client.fd.get(), client.pending.data(), client.pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      drop(client);
      return;
    }
    client.pending.erase(0, static_cast<size_t>(n));
  }
  if (client.closing) client.fd.reset();
}

void AttachHub::drop(Client& client) {
  if (!client.fd.valid()) return;
  // A client that goes away ends its stdin too (containerd closes the stdin copy when the output
  // goes): with stdin_once that closes the workload's stdin.
  if (client.has_stdin && !client.stdin_ended) end_client_stdin(client);
  client.fd.reset();
  client.pending.clear();
}

void AttachHub::finish(int exit_code) {
  if (listener_.valid()) {
    ::unlink(path_.c_str());
    listener_.reset();
  }
  for (auto& owned : clients_) {
    Client& client = *owned;
    if (!client.fd.valid()) continue;
    if (client.greeted && !client.closing) client.pending.append(attach::encode_exit(exit_code));
    client.closing = true;
    flush(client);
  }
}

bool AttachHub::done() const {
  return std::none_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->fd.valid(); });
}

}  // namespace lxe::init
