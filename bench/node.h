// What the sections run against: the options and plan, the lxe under test, the echo server, LXD,
// the pods made so far, the scratch directory. The run (run.cc) owns each of these; a Node only
// refers to them.
#pragma once

#include <string>
#include <vector>

#include "echo_server.h"
#include "interrupts.h"
#include "lxd/client.h"
#include "lxe_process.h"
#include "options.h"
#include "workload.h"

namespace lxe::bench {

struct Node {
  const Options& options;
  const Plan& plan;
  const Interrupts& interrupts;
  const lxd::Client& lxd;
  LxeProcess& lxe;
  EchoServer& echo;
  const Workload& workload;
  std::vector<PodInfo>& pods;
  const std::string& tmp;           // the scratch directory
  std::vector<std::string>& notes;  // what the run noticed, for the report's header
  bool lxe_logs_adoption;           // lxe logs "adoption: N sandbox(es) and M container(s) queued"

  int containers() const;
  // How the containers are made up now: "100 running, 900 created (not started), in 100 pods".
  std::string population() const;
};

}  // namespace lxe::bench
