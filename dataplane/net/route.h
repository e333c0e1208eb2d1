/* Next-hop choice on our one link: the destination itself when on-link, else the gateway. */
#ifndef CAAS_NET_ROUTE_H
#define CAAS_NET_ROUTE_H

#include <stdint.h>

#include "net.h"

/*
 * Next hop for dst (host order) from our address/prefix and gateway (0: none). Returns 0 with
 * *nh set, or:
 *   -EINVAL        prefix > 32
 *   -EHOSTUNREACH  dst is not a unicast host: 0.0.0.0/8, loopback, multicast, class E,
 *                  broadcast (limited, or our subnet's directed broadcast), or our own address
 *   -ENETUNREACH   dst is off-link and there is no gateway
 * The gateway is trusted to be on-link (a /32 address with a gateway is a common set-up).
 */
int net_next_hop4(uint32_t addr, uint8_t prefix, uint32_t gw, uint32_t dst, uint32_t *nh);

/*
 * The same for IPv6; gw may be NULL. Link-local destinations are always on-link. Returns 0, or
 * -EINVAL (prefix > 128), -EHOSTUNREACH (dst multicast, unspecified, loopback or our own),
 * -ENETUNREACH.
 */
int net_next_hop6(const uint8_t addr[16], uint8_t prefix, const uint8_t *gw, const uint8_t dst[16],
                  uint8_t nh[16]);

/* Either family, from ifc. -EADDRNOTAVAIL when ifc has no address of dst's family, -EINVAL
 * for a family that is neither; otherwise as above. */
int net_next_hop(const struct net_iface *ifc, const struct net_addr *dst, struct net_addr *nh);

#endif
