// The attach side of `lxe-init run`: a unix socket in the container's state directory where lxe
// connects once per CRI Attach session (protocol: common/attach_protocol.h). lxe-init owns the
// workload's stdin, terminal and output for the container's whole life, so attaching keeps
// working across lxe restarts and several clients can attach at once.
//
// containerd's rules (its cri ContainerIO.Attach), which kubelet and kubectl expect:
// - a client gets the output produced after it attached, of the streams it asked for;
// - every client's input goes to the workload's stdin, when the container has stdin;
// - when a client's stdin ends (or the client goes away): with stdin_once and no tty the
//   workload's stdin is closed and the client stays attached until the workload exits; otherwise
//   that client's session ends. After stdin_once closed stdin, later clients attach without it.
//
// Single-threaded and never blocking, like the rest of lxe-init: a client that reads too slowly is
// disconnected instead of holding up the workload or its CRI log.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/attach_protocol.h"
#include "init/fd.h"
#include "init/poll_set.h"

namespace lxe::init {

class AttachHub {
 public:
  // What the clients may do to the workload (lxe-init's supervisor).
  class Workload {
   public:
    virtual ~Workload() = default;
    virtual void input(std::string_view bytes) = 0;
    virtual void end_input() = 0;
    // Whether the workload's stdin still takes input (false without stdin, or once it was closed).
    virtual bool input_open() const = 0;
    // Too much input waits for the workload to read it: clients are not read meanwhile.
    virtual bool input_full() const = 0;
    virtual void resize(attach::WindowSize size) = 0;
    // A Stop frame: stop the workload with a grace period of `grace_seconds` (0: kill at once).
    virtual void stop(uint32_t grace_seconds) = 0;
  };
  struct Options {
    bool stdin_once = false;
    bool tty = false;
  };

  // Output bytes a client may have waiting before it is disconnected.
  static constexpr size_t kClientBacklog = 1 << 20;
  static constexpr size_t kMaxClients = 64;

  // Listens on `path`, replacing a socket an earlier run left there; only its owner may connect
  // (mode 0600: a workload running as another user must not attach to itself). Throws
  // std::system_error.
  AttachHub(std::string path, Options options, Workload& workload);
  // Closes every connection and removes the socket.
  ~AttachHub();
  AttachHub(const AttachHub&) = delete;
  AttachHub& operator=(const AttachHub&) = delete;

  // What this round of the loop waits for: new clients, client input, room to write output.
  void add_to(PollSet& set);
  // Output of the workload (`stream` Stdout or Stderr), for every client that asked for it.
  void output(attach::FrameType stream, std::string_view bytes);
  // The workload has exited and its output is drained: no new clients; each client gets Exit
  // after its pending output, then its connection is closed.
  void finish(int exit_code);
  // After finish: every client has got everything, or is gone.
  bool done() const;

 private:
  struct Client {
    Fd fd;
    attach::Decoder decoder;
    std::string pending;  // encoded frames not yet written
    bool greeted = false;  // its Hello came
    bool wants_stdout = false;
    bool wants_stderr = false;
    bool has_stdin = false;     // its input reaches the workload
    bool stdin_ended = false;
    bool closing = false;  // close once `pending` is written
  };

  void accept_clients();
  void on_client(Client& client, short revents);
  void read_client(Client& client);
  void handle_frame(Client& client, const attach::Frame& frame);
  // The client's input is over (StdinEnd, or the client is gone): containerd's rule above.
  // Returns whether the client's session continues.
  bool end_client_stdin(Client& client);
  void send(Client& client, std::string frames);
  void flush(Client& client);
  void drop(Client& client);

  std::string path_;
  Options options_;
  Workload& workload_;
  Fd listener_;
  // unique_ptr: handlers of the current poll round hold Client pointers; gone clients (fd closed)
  // are removed at the start of the next round.
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace lxe::init
