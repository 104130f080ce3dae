// IPv4 addresses and subnets, and the pod address allocation (IPAM) of lxe's bridge: pure
// functions, so the allocation kubelet depends on is tested without LXD.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace lxe::model {

struct Ipv4Subnet {
  uint32_t network = 0;  // host byte order, host bits zero
  int prefix = 0;        // 0..32

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint32_t broadcast() const { return network | ~mask(); }
  // The bridge's own address: the subnet's first host address.
  uint32_t gateway() const { return network + 1; }
  bool contains(uint32_t address) const { return (address & mask()) == network; }
  bool overlaps(const Ipv4Subnet& other) const;
  std::string to_string() const;  // "10.233.0.0/16"
};

// "a.b.c.d" in host byte order; nullopt unless exactly four decimal octets.
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::string ipv4_to_string(uint32_t address);

// A subnet lxe can hand out pod addresses from: "a.b.c.d/N" with N in 8..30 and no host bits
// set. Returns the reason a person can act on when `text` is not one.
struct SubnetOrError {
  std::optional<Ipv4Subnet> subnet;
  std::string error;
};
SubnetOrError parse_pod_subnet(std::string_view text);

// The lowest address of `subnet` that is neither the network, the gateway nor the broadcast
// address, nor in `taken`; nullopt when the subnet is full.
std::optional<uint32_t> first_free_address(const Ipv4Subnet& subnet, const std::set<uint32_t>& taken);

// A pod address as lxe stores it ("10.233.0.5/16") and back. parse_pod_address gives nullopt for
// anything else.
std::string pod_address(uint32_t address, const Ipv4Subnet& subnet);
struct PodAddress {
  uint32_t address = 0;
  Ipv4Subnet subnet;
};
std::optional<PodAddress> parse_pod_address(std::string_view text);
// A stored pod address without its prefix ("10.233.0.5"), as CRI reports it.
std::string address_part(std::string_view pod_ip);

}  // namespace lxe::model
