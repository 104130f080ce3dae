// `lxe-init ifup NAME ADDRESS/PREFIX GATEWAY`: lxe runs it through LXD's exec in a pod's namespace
// holder after it plugged the pod's NIC back (removed outside lxe). LXC set the address and route
// when the holder started; a NIC LXD hot-plugs later comes up bare, so this sets the pod's stored
// address, brings the interface up and adds the default route, as LXC did.
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "init/modes.h"
#include "init/sys.h"

namespace lxe::init {

namespace {

sockaddr ipv4(uint32_t host_order) {
  sockaddr address{};
  auto* in = reinterpret_cast<sockaddr_in*>(&address);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(host_order);
  return address;
}

bool parse(const std::string& text, uint32_t& out) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

int fail(const std::string& what) {
  message("lxe-init ifup: " + what);
  return 1;
}

}  // namespace

int interface_up(const std::vector<std::string>& args) {
  if (args.size() != 3) return fail("usage: lxe-init ifup NAME ADDRESS/PREFIX GATEWAY");
  const std::string& name = args[0];
  if (name.empty() || name.size() >= IFNAMSIZ) return fail("'" + name + "' is not an interface name");
  const size_t slash = args[1].find('/');
  uint32_t address = 0, gateway = 0;
  if (slash == std::string::npos || !parse(args[1].substr(0, slash), address))
    return fail("'" + args[1] + "' is not ADDRESS/PREFIX");
  const int prefix = std::atoi(args[1].c_str() + slash + 1);
  if (prefix < 1 || prefix > 32) return fail("'" + args[1] + "' has no prefix length of 1 to 32");
  if (!parse(args[2], gateway)) return fail("'" + args[2] + "' is not an IPv4 address");
  const uint32_t mask = prefix == 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);

  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket: " + errno_text(errno));
  auto request = [&](unsigned long op, const sockaddr& value, const char* what) {
    ifreq r{};
    std::strncpy(r.ifr_name, name.c_str(), IFNAMSIZ - 1);
    r.ifr_addr = value;
    if (::ioctl(fd, op, &r) == 0) return true;
    fail(std::string(what) + " of " + name + ": " + errno_text(errno));
    return false;
  };
  bool ok = request(SIOCSIFADDR, ipv4(address), "setting the address") &&
            request(SIOCSIFNETMASK, ipv4(mask), "setting the netmask") &&
            request(SIOCSIFBRDADDR, ipv4((address & mask) | ~mask), "setting the broadcast address");
  if (ok) {
    ifreq flags{};
    std::strncpy(flags.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ok = ::ioctl(fd, SIOCGIFFLAGS, &flags) == 0;
    if (ok) {
      flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
      ok = ::ioctl(fd, SIOCSIFFLAGS, &flags) == 0;
    }
    if (!ok) fail("bringing up " + name + ": " + errno_text(errno));
  }
  if (ok) {
    rtentry route{};
    route.rt_dst = ipv4(0);
    route.rt_genmask = ipv4(0);
    route.rt_gateway = ipv4(gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    std::string device = name;
    route.rt_dev = device.data();
    if (::ioctl(fd, SIOCADDRT, &route) != 0 && errno != EEXIST) {
      fail("adding the default route: " + errno_text(errno));
      ok = false;
    }
  }
  ::close(fd);
  return ok ? 0 : 1;
}

}  // namespace lxe::init
