// The tests' own SPDY/3.1 streaming client: what kubectl, crictl and kubelet do with a streaming
// URL (the HTTP upgrade, streams named by streamType, data both ways), made by hand so tests can
// also do what they should not (disconnect mid-stream, reuse a URL, offer no protocol).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/unique_fd.h"
#include "streaming/spdy_codec.h"

namespace lxe::test {

// A plain HTTP answer (a refusal, or anything but 101).
struct HttpAnswer {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Sends one request with `headers` ("Name: value") and reads the answer up to the end of the
// connection (for refusals, which close it).
HttpAnswer http_exchange(const std::string& url, const std::string& method, const std::vector<std::string>& headers);

class SpdyClient {
 public:
  // POSTs the upgrade to `url` offering `protocols` (none: no X-Stream-Protocol-Version header;
  // `upgrade` "" sends no Upgrade header). A 101 gives a client; anything else the answer.
  static std::variant<std::unique_ptr<SpdyClient>, HttpAnswer> connect(const std::string& url,
                                                                         const std::vector<std::string>& protocols,
                                                                         const std::string& upgrade = "SPDY/3.1");
  ~SpdyClient();

  const std::string& protocol() const { return protocol_; }
  // Opens a stream with these headers; returns its ID.
  uint32_t open(const streaming::spdy::HeaderBlock& headers, bool fin = false);
  void send(uint32_t stream, std::string_view bytes, bool fin = false);
  void reset(uint32_t stream);
  void ping(uint32_t id);
  // Ends the TCP connection at once (a client that went away).
  void drop();

  // What arrived on a stream so far, and whether the server ended it (FIN or RST).
  std::string received(uint32_t stream) const;
  bool ended(uint32_t stream) const;
  bool replied(uint32_t stream) const;  // a SYN_REPLY came
  bool wait_ended(uint32_t stream, std::chrono::milliseconds timeout) const;
  bool wait_received(uint32_t stream, const std::string& text, std::chrono::milliseconds timeout) const;
  // Until the server closed the connection.
  bool wait_closed(std::chrono::milliseconds timeout) const;
  bool got_goaway() const;
  std::vector<uint32_t> pongs() const;

 private:
  SpdyClient(UniqueFd fd, std::string protocol, std::string already_read);
  void read_loop(std::string already_read);

  UniqueFd fd_;
  std::string protocol_;
  std::mutex write_mutex_;
  streaming::spdy::Encoder encoder_;
  uint32_t next_id_ = 1;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  struct Stream {
    std::string data;
    bool ended = false;
    bool replied = false;
  };
  std::map<uint32_t, Stream> streams_;
  std::vector<uint32_t> pongs_;
  bool closed_ = false;
  bool goaway_ = false;
  std::thread reader_;
};

// One exec or attach through SPDY, as kubectl runs it (protocol v4 unless told otherwise).
struct RemoteCommandRun {
  std::string protocol = "v4.channel.k8s.io";
  std::optional<std::string> stdin_data;  // set: a stdin stream, ended (FIN) after the data
  bool keep_stdin_open = false;           // do not FIN stdin
  bool stdout = true;
  bool stderr = true;
  bool tty = false;
  std::vector<std::string> resizes;  // JSON lines sent on the resize stream (tty)
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};
struct RemoteCommandResult {
  std::optional<HttpAnswer> refused;
  std::string out;
  std::string err;
  std::string status;  // the error stream's bytes
  bool finished = false;
};
RemoteCommandResult run_remote_command(const std::string& url, const RemoteCommandRun& run);

// The exit code a v4 status JSON carries: 0 for Success, the NonZeroExitCode cause, else nullopt.
std::optional<int> exit_code_of(const std::string& status_json);

// One connection through a port-forward session: sends `request`, reads until the pod side ends
// (or `timeout`); returns what came back, and the error stream's text.
struct ForwardedExchange {
  std::string data;
  std::string error;
  bool ended = false;
};
ForwardedExchange forward_once(SpdyClient& client, int port, const std::string& request_id, const std::string& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace lxe::test
