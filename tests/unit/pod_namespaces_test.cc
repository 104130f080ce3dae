// Pod and container namespaces: which ones a container joins for each CRI NamespaceMode, the
// raw.lxc that joins them, what is refused, and when an instance names a stale holder.
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "reconcile/pod_namespaces.h"

using Catch::Matchers::Contains;
using lxe::reconcile::container_namespace_problem;
using lxe::reconcile::container_namespace_raw_lxc;
using lxe::reconcile::container_namespaces;
using lxe::reconcile::ContainerNamespaces;
using lxe::reconcile::holder_namespace_raw_lxc;
using lxe::reconcile::HostNamespaceFiles;
using lxe::reconcile::joins_holder_network;
using lxe::reconcile::names_other_holder;
using lxe::reconcile::namespace_file_problem;
using lxe::reconcile::NamespaceSource;
using lxe::reconcile::pod_namespace_problem;
namespace v1 = runtime::v1;

namespace {

const HostNamespaceFiles kHost{"/run/h/net", "/run/h/pid", "/run/h/ipc"};
const std::string kLxdDir = "/var/lib/lxd";

v1::PodSandboxConfig pod(v1::NamespaceMode network, v1::NamespaceMode pid, v1::NamespaceMode ipc) {
  v1::PodSandboxConfig config;
  auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(network);
  ns->set_pid(pid);
  ns->set_ipc(ipc);
  return config;
}

v1::ContainerConfig container_with(v1::NamespaceMode pid, v1::NamespaceMode ipc = v1::POD) {
  v1::ContainerConfig config;
  auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_pid(pid);
  ns->set_ipc(ipc);
  return config;
}

std::string raw_for(const v1::PodSandboxConfig& p, const v1::ContainerConfig& c, bool system = false) {
  return container_namespace_raw_lxc(container_namespaces(p, c, system), 42, kHost, "lxe-c", kLxdDir);
}

}  // namespace

TEST_CASE("CRI's zero values share the pod's PID and IPC namespaces with the holder", "[pod_namespaces]") {
  const auto ns = container_namespaces(v1::PodSandboxConfig{}, v1::ContainerConfig{}, false);
  CHECK(ns.network == NamespaceSource::Holder);
  CHECK(ns.pid == NamespaceSource::Holder);
  CHECK(ns.ipc == NamespaceSource::Holder);
  CHECK(ns.shares_holder_user());
  // Network and user first, as every pod container had them before PID and IPC were shared.
  CHECK(raw_for(v1::PodSandboxConfig{}, v1::ContainerConfig{}) ==
        "lxc.namespace.share.net = 42\nlxc.namespace.share.user = 42\n"
        "lxc.namespace.share.pid = 42\nlxc.namespace.share.ipc = 42\n");
}

TEST_CASE("kubelet's usual pod: the container's own PID namespace is lxe-init's to make", "[pod_namespaces]") {
  const auto p = pod(v1::POD, v1::CONTAINER, v1::POD);
  const auto raw = raw_for(p, container_with(v1::CONTAINER));
  CHECK(raw == "lxc.namespace.share.net = 42\nlxc.namespace.share.user = 42\nlxc.namespace.share.ipc = 42\n");
  // The container's options win over the pod's: shareProcessNamespace sends POD for both.
  CHECK(container_namespaces(p, container_with(v1::POD), false).pid == NamespaceSource::Holder);
  // A container without options of its own takes the pod's.
  CHECK(container_namespaces(p, v1::ContainerConfig{}, false).pid == NamespaceSource::Own);
  // IPC of its own.
  CHECK(raw_for(p, container_with(v1::CONTAINER, v1::CONTAINER)) ==
        "lxc.namespace.share.net = 42\nlxc.namespace.share.user = 42\n");
}

TEST_CASE("a system container keeps a PID namespace of its own unless it asks otherwise", "[pod_namespaces]") {
  CHECK(container_namespaces(v1::PodSandboxConfig{}, v1::ContainerConfig{}, true).pid == NamespaceSource::Own);
  CHECK(container_namespace_problem(v1::PodSandboxConfig{}, v1::ContainerConfig{}, true).empty());
  CHECK_THAT(container_namespace_problem(v1::PodSandboxConfig{}, container_with(v1::POD), true),
             Contains("must be PID 1") && Contains("CONTAINER"));
  CHECK_THAT(container_namespace_problem(pod(v1::POD, v1::NODE, v1::POD), v1::ContainerConfig{}, true),
             Contains("system container"));
  CHECK(container_namespace_problem(v1::PodSandboxConfig{}, container_with(v1::CONTAINER), true).empty());
}

TEST_CASE("host PID and IPC: the holder joins the host's, the containers join without its user namespace",
          "[pod_namespaces]") {
  const auto p = pod(v1::POD, v1::NODE, v1::NODE);
  CHECK(holder_namespace_raw_lxc(p.linux().security_context().namespace_options(), kHost, "lxe-h", kLxdDir) ==
        "lxc.namespace.share.pid = /run/h/pid\nlxc.namespace.share.ipc = /run/h/ipc\n"
        "lxc.mount.auto =\nlxc.mount.auto = sys:rw cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/lib/lxd/shmounts/lxe-h:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /proc proc none rbind,create=dir 0 0\n");
  const auto ns = container_namespaces(p, container_with(v1::NODE, v1::NODE), false);
  CHECK_FALSE(ns.shares_holder_user());
  // The pod's network from the holder, the host's PID and IPC namespaces named directly, the
  // host's /proc and /sys.
  CHECK(raw_for(p, container_with(v1::NODE, v1::NODE)) ==
        "lxc.namespace.share.net = 42\nlxc.namespace.share.pid = /run/h/pid\nlxc.namespace.share.ipc = /run/h/ipc\n"
        "lxc.mount.auto =\nlxc.mount.auto = cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/lib/lxd/shmounts/lxe-c:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /proc proc none rbind,create=dir 0 0\n"
        "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
  // The holder's IPC namespace can be joined from the container's own user namespace.
  CHECK(raw_for(pod(v1::POD, v1::NODE, v1::POD), container_with(v1::NODE, v1::POD)) ==
        "lxc.namespace.share.net = 42\nlxc.namespace.share.pid = /run/h/pid\nlxc.namespace.share.ipc = 42\n"
        "lxc.mount.auto =\nlxc.mount.auto = cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/lib/lxd/shmounts/lxe-c:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /proc proc none rbind,create=dir 0 0\n"
        "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
}

TEST_CASE("host IPC or network with a shared PID namespace: each container gets its own, and the pod says so",
          "[pod_namespaces]") {
  const auto p = pod(v1::POD, v1::POD, v1::NODE);
  CHECK(container_namespaces(p, container_with(v1::POD, v1::NODE), false).pid == NamespaceSource::Own);
  CHECK(container_namespaces(pod(v1::NODE, v1::POD, v1::POD), v1::ContainerConfig{}, false).pid ==
        NamespaceSource::Own);
  // LXC mounts proc itself; sysfs is the host's.
  CHECK(raw_for(p, container_with(v1::POD, v1::NODE)) ==
        "lxc.namespace.share.net = 42\nlxc.namespace.share.ipc = /run/h/ipc\n"
        "lxc.mount.auto =\nlxc.mount.auto = proc:rw cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/lib/lxd/shmounts/lxe-c:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
  CHECK(lxe::reconcile::effective_pod_namespace_modes(p).pid() == v1::CONTAINER);
  CHECK(lxe::reconcile::effective_pod_namespace_modes(pod(v1::POD, v1::POD, v1::POD)).pid() == v1::POD);
  CHECK(lxe::reconcile::effective_pod_namespace_modes(pod(v1::NODE, v1::NODE, v1::POD)).pid() == v1::NODE);
}

TEST_CASE("a host network pod's container: the host's network and /sys, as before", "[pod_namespaces]") {
  const auto p = pod(v1::NODE, v1::CONTAINER, v1::CONTAINER);
  CHECK(raw_for(p, container_with(v1::CONTAINER, v1::CONTAINER)) ==
        "lxc.namespace.share.net = /run/h/net\n"
        "lxc.mount.auto =\nlxc.mount.auto = proc:rw cgroup:mixed\n"
        "lxc.mount.auto = shmounts:/var/lib/lxd/shmounts/lxe-c:/dev/.lxd-mounts\n"
        "lxc.mount.entry = /sys sys none rbind,create=dir 0 0\n");
}

TEST_CASE("before the holder has a PID only the host's namespaces are named", "[pod_namespaces]") {
  ContainerNamespaces ns;
  CHECK(container_namespace_raw_lxc(ns, 0, kHost, "lxe-c", kLxdDir).empty());
}

TEST_CASE("TARGET, unknown modes and a container network apart from its pod's are refused", "[pod_namespaces]") {
  auto target = container_with(v1::TARGET);
  target.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_target_id("abc");
  CHECK_THAT(container_namespace_problem(v1::PodSandboxConfig{}, target, false),
             Contains("TARGET") && Contains("'abc'"));
  CHECK_THAT(container_namespace_problem(v1::PodSandboxConfig{}, container_with(static_cast<v1::NamespaceMode>(9)), false),
             Contains("mode 9"));
  auto host_net = v1::ContainerConfig{};
  host_net.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
  CHECK_THAT(container_namespace_problem(v1::PodSandboxConfig{}, host_net, false), Contains("pod's network"));
  CHECK(container_namespace_problem(pod(v1::NODE, v1::POD, v1::POD), host_net, false).empty());

  v1::NamespaceOption modes;
  modes.set_pid(v1::TARGET);
  CHECK_THAT(pod_namespace_problem(modes), Contains("only a container"));
  modes.set_pid(v1::POD);
  modes.set_ipc(static_cast<v1::NamespaceMode>(-3));
  CHECK_THAT(pod_namespace_problem(modes), Contains("namespace_options.ipc"));
  CHECK(pod_namespace_problem(pod(v1::NODE, v1::NODE, v1::NODE).linux().security_context().namespace_options()).empty());
}

TEST_CASE("an instance naming another holder is pointed at the current one", "[pod_namespaces]") {
  const std::string current = raw_for(pod(v1::POD, v1::POD, v1::NODE), container_with(v1::POD, v1::NODE));
  CHECK_FALSE(names_other_holder(current, 42));
  CHECK(names_other_holder(current, 43));
  CHECK(joins_holder_network(current, 42));
  CHECK_FALSE(joins_holder_network(current, 4));
  // Host namespace files and the host's /proc are not holder PIDs.
  const std::string host_only = raw_for(pod(v1::NODE, v1::NODE, v1::NODE), container_with(v1::NODE, v1::NODE));
  CHECK_FALSE(names_other_holder(host_only, 7));
  CHECK_FALSE(names_other_holder("lxc.mount.entry = /proc proc none rbind,create=dir 0 0\n", 42));
}

TEST_CASE("namespace files are checked for their kind", "[pod_namespaces]") {
  CHECK(namespace_file_problem("/proc/self/ns/pid", CLONE_NEWPID).empty());
  CHECK(namespace_file_problem("/proc/self/ns/ipc", CLONE_NEWIPC).empty());
  CHECK_THAT(namespace_file_problem("/proc/self/ns/ipc", CLONE_NEWPID), Contains("is not a PID namespace"));
  CHECK_THAT(namespace_file_problem("/proc/self/ns/pid", CLONE_NEWIPC), Contains("is not an IPC namespace"));
  CHECK_THAT(namespace_file_problem("/etc/hostname", CLONE_NEWNET), Contains("not a namespace file"));
  CHECK_THAT(namespace_file_problem("/nonexistent/ns", CLONE_NEWNET), Contains("cannot open"));
}

TEST_CASE("who keeps a pod's namespaces: lxe's pins unless the pod needs a holder", "[pod_namespaces][pinned]") {
  using lxe::reconcile::pod_namespace_keeper;
  using lxe::store::PodNamespaces;
  const auto kubelet = pod(v1::POD, v1::CONTAINER, v1::POD);
  CHECK(pod_namespace_keeper(kubelet, false, true) == PodNamespaces::Pinned);
  CHECK(pod_namespace_keeper(pod(v1::POD, v1::CONTAINER, v1::CONTAINER), false, true) == PodNamespaces::Pinned);
  // --pod-namespaces holder.
  CHECK(pod_namespace_keeper(kubelet, false, false) == PodNamespaces::Holder);
  // The network needs one (host ports on lxe's bridge, no CNI plugins to plug pins in).
  CHECK(pod_namespace_keeper(kubelet, true, true) == PodNamespaces::Holder);
  // A shared PID namespace (CRI's zero value too), and the host's namespaces.
  CHECK(pod_namespace_keeper(v1::PodSandboxConfig{}, false, true) == PodNamespaces::Holder);
  CHECK(pod_namespace_keeper(pod(v1::POD, v1::POD, v1::POD), false, true) == PodNamespaces::Holder);
  CHECK(pod_namespace_keeper(pod(v1::NODE, v1::CONTAINER, v1::POD), false, true) == PodNamespaces::Holder);
  CHECK(pod_namespace_keeper(pod(v1::POD, v1::NODE, v1::POD), false, true) == PodNamespaces::Holder);
  CHECK(pod_namespace_keeper(pod(v1::POD, v1::CONTAINER, v1::NODE), false, true) == PodNamespaces::Holder);
}

TEST_CASE("a pinned pod's containers name its pin files, and never a PID namespace it has not got",
          "[pod_namespaces][pinned]") {
  const auto refs = lxe::reconcile::pinned_refs("/var/lib/lxe/namespaces/abc");
  CHECK(refs.user == "/var/lib/lxe/namespaces/abc/user");
  CHECK(refs.network == "/var/lib/lxe/namespaces/abc/net");
  CHECK(refs.ipc == "/var/lib/lxe/namespaces/abc/ipc");
  CHECK(refs.pid.empty());
  const auto kubelet = pod(v1::POD, v1::CONTAINER, v1::POD);
  const auto raw = container_namespace_raw_lxc(container_namespaces(kubelet, container_with(v1::CONTAINER), false),
                                               refs, kHost, "lxe-c", kLxdDir);
  CHECK(raw == "lxc.namespace.share.net = /var/lib/lxe/namespaces/abc/net\n"
               "lxc.namespace.share.user = /var/lib/lxe/namespaces/abc/user\n"
               "lxc.namespace.share.ipc = /var/lib/lxe/namespaces/abc/ipc\n");
  CHECK(lxe::reconcile::joins_pod_network(raw, refs));
  CHECK_FALSE(names_other_holder(raw, refs));
  CHECK(names_other_holder(raw + "lxc.namespace.share.pid = 42\n", refs));
  CHECK_FALSE(joins_holder_network(raw, 42));
  // A container asking for the pod's PID namespace is refused at CreateContainer; the mapping
  // throws rather than name nothing.
  CHECK_THROWS_AS(container_namespace_raw_lxc(container_namespaces(kubelet, container_with(v1::POD), false), refs,
                                              kHost, "lxe-c", kLxdDir),
                  std::invalid_argument);
  lxe::store::SandboxRecord record;
  record.id = std::string(64, 'a');
  record.pod_namespaces = lxe::store::PodNamespaces::Pinned;
  CHECK_THAT(container_namespace_problem(record, kubelet, container_with(v1::POD), false),
             Contains("without a PID namespace to share"));
  CHECK(container_namespace_problem(record, kubelet, container_with(v1::CONTAINER), false).empty());
  record.pod_namespaces = lxe::store::PodNamespaces::Holder;
  CHECK(container_namespace_problem(record, kubelet, container_with(v1::POD), false).empty());
}
