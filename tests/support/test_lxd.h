// Support for tests that talk to the real LXD.
//
// Every object a test creates in LXD is named with this run's prefix (`lxet-<6 hex>-`) and marked
// with `user.lxe.test-pid=<pid of the test process>`. A run that was killed leaves its objects
// behind; sweep_stale_test_objects() removes them on a later run, and only them: an object is swept
// only when its name starts with `lxet-` AND its marker names a process that no longer exists.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lxd/client.h"
#include "support/process.h"

namespace lxe::test {

inline constexpr const char* kTestObjectPrefix = "lxet-";
inline constexpr const char* kTestPidKey = "user.lxe.test-pid";

// The LXD socket to test against: $LXE_TEST_LXD_SOCKET, else the first that exists of
// /var/snap/lxd/common/lxd/unix.socket and /var/lib/lxd/unix.socket; empty when there is none.
std::string lxd_socket_path();

// Whether LXD's error text says it refused a change because another one on the same object is
// under way (its own stop or update, lxe's repair, or the update LXD makes on each instance of a
// profile that just changed): a person would run the command again. For tests' out-of-band
// changes only; lxe itself never decides on an error's text.
bool lxd_says_busy(std::string_view text);

// `lxc ARGS...` against the LXD the tests use, as an operator would type it; run again while LXD
// says it is busy with another change of the object (for up to 20 s), as a person would.
CommandResult lxc_command(const std::vector<std::string>& args);

// A client for the LXD at lxd_socket_path(), with test-friendly timeouts.
lxd::Client make_test_lxd_client();

// The kind of the lxd::Error that `f` throws; FAILs when it throws none.
template <typename F>
lxd::ErrorKind error_kind_of(F&& f) {
  try {
    f();
  } catch (const lxd::Error& e) {
    INFO(e.what());
    return e.kind();
  }
  FAIL("did not throw");
  return lxd::ErrorKind::Protocol;
}

// make_test_lxd_client() for a test that needs LXD: REQUIREs a socket, and sweeps what killed
// earlier runs left first.
lxd::Client swept_test_lxd_client();

// This process's prefix, fixed for the run: "lxet-" + 6 random hex digits + "-".
const std::string& run_prefix();

// run_prefix() + suffix, e.g. test_name("prof") -> "lxet-3fa2c1-prof". Names end up as
// hostnames: keep suffixes short, lowercase, [a-z0-9-].
std::string test_name(std::string_view suffix);

// Adds the marker key for this process to a config.
void mark(lxd::Config& config);
// The marker value for this process ("<pid>").
std::string test_pid_value();

// Deletes instances (stopping them first) and then profiles left by dead test processes. Never
// touches anything else. Returns how many objects it deleted; errors on single objects are logged
// and skipped.
int sweep_stale_test_objects(const lxd::Client& client);

// Deletes, when it goes out of scope, what a test registered with it: instances first (force-stopped,
// then deleted), then profiles, each in reverse order of registration. Objects already gone are
// fine; other failures are logged, never thrown.
class LxdCleanup {
 public:
  explicit LxdCleanup(const lxd::Client& client) : client_(client) {}
  ~LxdCleanup();
  LxdCleanup(const LxdCleanup&) = delete;
  LxdCleanup& operator=(const LxdCleanup&) = delete;

  // Registers a name; returns it, so `auto n = cleanup.instance(test_name("c1"));` reads well.
  // Register before creating: deleting what does not exist is fine.
  std::string instance(std::string name);
  std::string profile(std::string name);

  // Deletes everything registered now (the destructor then has nothing left to do).
  void run();

 private:
  const lxd::Client& client_;
  std::vector<std::string> instances_;
  std::vector<std::string> profiles_;
};

}  // namespace lxe::test
