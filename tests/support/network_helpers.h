// Helpers of the pod networking tests (real LXD): free test subnets and host ports, a web server
// container, and fetching from it.
#pragma once

#include <chrono>
#include <string>

#include "support/cri_fixture.h"

namespace lxe::test {

// A /24 in 10.200.0.0/13 that no host interface uses (other runs' bridges included).
std::string free_test_subnet();

// Deletes the test bridge `name` when it goes out of scope (after the fixture removed the pods
// using it); a bridge already gone is fine, any other failure is a warning.
struct BridgeCleanup {
  std::string name;
  ~BridgeCleanup();
};

// A TCP port nothing on this host listens on right now.
int free_host_port();

// The LXD name of the pod's namespace holder (the instance whose name ends with the pod ID's first
// 12 hex digits); REQUIREs there is one.
std::string holder_instance(CriFixture& fx, const std::string& pod_id);

// The pod's IP as PodSandboxStatus reports it (REQUIREs the call to succeed).
std::string pod_ip(CriFixture& fx, const std::string& pod_id);

// A busybox httpd container answering `text` on port 8080.
cri::ContainerConfig web_server(const std::string& text);

// GET http://ip:8080/ from the host, retried for up to `wait` while the server starts; "" if it
// never answered.
std::string fetch_from_host(const std::string& ip, std::chrono::seconds wait = std::chrono::seconds(10));

// GET http://127.0.0.1:port/ (status 200 only), retried for up to `wait`; "" if it never answered.
std::string fetch_local(int port, std::chrono::seconds wait = std::chrono::seconds(10));

// CNI tests: the host bridge Debian's bridge plugin makes for this test process,
// lxn<PID in hex>, so that a later run can tell a killed run's bridge (its PID is gone).
std::string cni_bridge_name();
// Deletes the bridges of test processes that are gone.
void sweep_stale_cni_bridges();
// Deletes the bridge `name` when the test ends.
struct CniBridgeCleanup {
  std::string name;
  ~CniBridgeCleanup();
};
// A conflist named "lxe-test" of Debian's plugins: a bridge with its gateway, host-local addresses
// in `subnet` kept under `ipam_dir`, and portmap for host ports.
std::string cni_test_conflist(const std::string& bridge, const std::string& subnet, const std::string& ipam_dir);

}  // namespace lxe::test
