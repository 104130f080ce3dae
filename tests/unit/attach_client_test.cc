// lxe's side of CRI Attach (cri/attach_client.h) against a fake lxe-init on the other end of a
// socket pair, and how it finds and connects to the attach socket.
#include "cri/attach_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/attach_protocol.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
using lxe::UniqueFd;
using lxe::attach::Decoder;
using lxe::attach::Frame;
using lxe::attach::FrameType;
using lxe::streaming::SessionIo;
using lxe::test::TempDir;

namespace {

class CollectingSink : public lxe::streaming::Sink {
 public:
  bool write(std::string_view bytes) override {
    std::lock_guard lock(mutex_);
    data_.append(bytes);
    return true;
  }
  void close() override {}
  std::string data() const {
    std::lock_guard lock(mutex_);
    return data_;
  }

 private:
  mutable std::mutex mutex_;
  std::string data_;
};

// The lxe-init end: reads frames, writes whatever the test says. Runs in a thread of its own.
class FakeInit {
 public:
  explicit FakeInit(UniqueFd fd) : fd_(std::move(fd)) {}
  // The next frame from lxe, or nullopt at EOF.
  std::optional<Frame> next() {
    while (true) {
      if (auto frame = decoder_.next()) return frame;
      char buffer[4096];
      const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
      if (n <= 0) return std::nullopt;
      decoder_.feed(std::string_view(buffer, static_cast<size_t>(n)));
    }
  }
  // Catch's macros are not for other threads: a short write shows as missing output instead.
  void send(const std::string& bytes) {
    if (::write(fd_.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) fd_.reset();
  }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  Decoder decoder_;
};

std::pair<UniqueFd, UniqueFd> socket_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

TEST_CASE("attach client: stdin to lxe-init, output to the client's streams, exit as success", "[attach]") {
  auto [ours, theirs] = socket_pair();
  lxe::streaming::InboundPipe in;
  CollectingSink out, err;
  lxe::streaming::ResizeQueue sizes;
  lxe::streaming::Cancellation cancelled;
  SessionIo io{&in, &out, &err, &sizes, &cancelled};

  std::string typed;
  std::optional<lxe::attach::WindowSize> resized;
  uint8_t flags = 0;
  std::thread init([&, fd = std::move(theirs)]() mutable {
    FakeInit fake(std::move(fd));
    auto hello = fake.next();
    if (!hello || hello->type != FrameType::Hello) return;
    flags = lxe::attach::parse_hello(hello->payload).value_or(lxe::attach::Hello{}).flags;
    fake.send(lxe::attach::encode(FrameType::Stdout, "ready\n") + lxe::attach::encode(FrameType::Stderr, "warn\n"));
    while (auto frame = fake.next()) {
      if (frame->type == FrameType::Stdin) typed += frame->payload;
      if (frame->type == FrameType::Resize) resized = lxe::attach::parse_resize(frame->payload);
      if (frame->type == FrameType::StdinEnd) break;
    }
    fake.send(lxe::attach::encode(FrameType::Stdout, "got " + typed) + lxe::attach::encode_exit(7));
    fake.close();
  });
  std::thread client([&] {
    sizes.push({120, 40});
    std::this_thread::sleep_for(50ms);
    in.push("echo hello\n");
    in.finish();
  });
  const auto outcome = lxe::cri::run_attach_session(std::move(ours), io);
  client.join();
  init.join();
  CHECK(flags == (lxe::attach::kWantStdin | lxe::attach::kWantStdout | lxe::attach::kWantStderr));
  CHECK(typed == "echo hello\n");
  CHECK(resized == lxe::attach::WindowSize{120, 40});
  CHECK(out.data() == "ready\ngot echo hello\n");
  CHECK(err.data() == "warn\n");
  // As containerd's: the attach succeeded, whatever the workload's exit code.
  CHECK(outcome.exit_code == 0);
}

TEST_CASE("attach client: output only, and the end of the connection ends the session", "[attach]") {
  auto [ours, theirs] = socket_pair();
  CollectingSink out;
  lxe::streaming::Cancellation cancelled;
  SessionIo io;
  io.stdout_sink = &out;
  io.cancelled = &cancelled;
  uint8_t flags = 0;
  std::thread init([&, fd = std::move(theirs)]() mutable {
    FakeInit fake(std::move(fd));
    auto hello = fake.next();
    if (!hello) return;
    flags = lxe::attach::parse_hello(hello->payload).value_or(lxe::attach::Hello{}).flags;
    // A frame of a later lxe-init is skipped.
    fake.send(lxe::attach::encode(static_cast<FrameType>(99), "?") + lxe::attach::encode(FrameType::Stdout, "tick\n"));
    fake.close();  // the container was stopped: no Exit frame
  });
  const auto outcome = lxe::cri::run_attach_session(std::move(ours), io);
  init.join();
  CHECK(flags == lxe::attach::kWantStdout);
  CHECK(out.data() == "tick\n");
  CHECK(outcome.exit_code == 0);
}

TEST_CASE("attach client: a client that goes away ends the session, lxe-init sees the connection close",
          "[attach]") {
  auto [ours, theirs] = socket_pair();
  CollectingSink out;
  lxe::streaming::InboundPipe in;  // never ends: the stdin pump must still stop
  lxe::streaming::Cancellation cancelled;
  SessionIo io{&in, &out, nullptr, nullptr, &cancelled};
  bool saw_eof = false;
  std::thread init([&, fd = std::move(theirs)]() mutable {
    FakeInit fake(std::move(fd));
    while (fake.next()) {
    }
    saw_eof = true;
  });
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    cancelled.cancel();
  });
  const auto outcome = lxe::cri::run_attach_session(std::move(ours), io);
  canceller.join();
  init.join();
  CHECK_FALSE(outcome.exit_code);
  CHECK_THAT(outcome.error, Catch::Contains("went away"));
  CHECK(saw_eof);
}

TEST_CASE("attach client: garbage from the socket fails the session", "[attach]") {
  auto [ours, theirs] = socket_pair();
  CollectingSink out;
  SessionIo io;
  io.stdout_sink = &out;
  const std::string garbage("\x10\xff\xff\xff\xff", 5);
  REQUIRE(::write(theirs.get(), garbage.data(), garbage.size()) == 5);
  const auto outcome = lxe::cri::run_attach_session(std::move(ours), io);
  CHECK_FALSE(outcome.exit_code);
  CHECK_THAT(outcome.error, Catch::Contains("garbage"));
}

TEST_CASE("attach client: finding and connecting to the attach socket", "[attach]") {
  TempDir dir;
  const auto listen_at = [](const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof a.sun_path);
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    return fd;
  };

  SECTION("missing, or not a socket") {
    CHECK_FALSE(lxe::attach::attach_socket_exists(dir.file("attach.sock")));
    const auto missing = lxe::attach::connect_attach_socket(dir.file("attach.sock"));
    REQUIRE(std::holds_alternative<std::string>(missing));
    CHECK_THAT(std::get<std::string>(missing), Catch::Contains("No such file"));
    lxe::test::write_file(dir.file("attach.sock"), "");
    CHECK_FALSE(lxe::attach::attach_socket_exists(dir.file("attach.sock")));
    CHECK(std::holds_alternative<std::string>(lxe::attach::connect_attach_socket(dir.file("attach.sock"))));
  }
  SECTION("a path longer than a socket address allows") {
    std::string deep = dir.path();
    while (deep.size() < 150) deep += "/a-rather-long-directory-name";
    std::filesystem::create_directories(deep);
    // Bound through a short symlink to the directory (bind has the same length limit).
    std::filesystem::create_directory_symlink(deep, dir.file("d"));
    UniqueFd listener = listen_at(dir.file("d/attach.sock"));
    const std::string path = deep + "/attach.sock";
    REQUIRE(path.size() > sizeof(sockaddr_un::sun_path));
    CHECK(lxe::attach::attach_socket_exists(path));
    const auto connected = lxe::attach::connect_attach_socket(path);
    REQUIRE(std::holds_alternative<UniqueFd>(connected));
    UniqueFd accepted(::accept(listener.get(), nullptr, nullptr));
    CHECK(accepted.valid());
  }
  SECTION("a symlink (the container owns the directory) is not followed") {
    UniqueFd elsewhere = listen_at(dir.file("host.sock"));
    std::filesystem::create_directory(dir.file("state"));
    std::filesystem::create_symlink(dir.file("host.sock"), dir.file("state/attach.sock"));
    CHECK_FALSE(lxe::attach::attach_socket_exists(dir.file("state/attach.sock")));
    const auto connected = lxe::attach::connect_attach_socket(dir.file("state/attach.sock"));
    CHECK(std::holds_alternative<std::string>(connected));
  }
  SECTION("a socket nothing listens on") {
    { UniqueFd gone = listen_at(dir.file("attach.sock")); }
    CHECK(lxe::attach::attach_socket_exists(dir.file("attach.sock")));
    const auto refused = lxe::attach::connect_attach_socket(dir.file("attach.sock"));
    REQUIRE(std::holds_alternative<std::string>(refused));
    CHECK_THAT(std::get<std::string>(refused), Catch::Contains("refused"));
  }
}
