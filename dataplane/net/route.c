/* On-link test and gateway choice for IPv4 and IPv6. */
#include "route.h"

#include <errno.h>

int net_next_hop4(uint32_t addr, uint8_t prefix, uint32_t gw, uint32_t dst, uint32_t *nh)
{
	if (prefix > 32)
		return -EINVAL;
	uint32_t m = net_ip4_mask(prefix);
	bool on_link = ((dst ^ addr) & m) == 0;
	if (!net_ip4_is_unicast(dst) || dst == addr ||
	    (on_link && prefix < 31 && (dst | m) == 0xffffffffu))
		return -EHOSTUNREACH;
	if (on_link) {
		*nh = dst;
		return 0;
	}
	if (gw == 0)
		return -ENETUNREACH;
	*nh = gw;
	return 0;
}

int net_next_hop6(const uint8_t addr[16], uint8_t prefix, const uint8_t *gw, const uint8_t dst[16],
                  uint8_t nh[16])
{
	static const uint8_t loopback[16] = {[15] = 1};
	if (prefix > 128)
		return -EINVAL;
	if (net_ip6_is_multicast(dst) || net_ip6_is_unspecified(dst) ||
	    memcmp(dst, loopback, 16) == 0 || memcmp(dst, addr, 16) == 0)
		return -EHOSTUNREACH;
	if (net_ip6_is_link_local(dst) || net_ip6_prefix_match(dst, addr, prefix)) {
		memmove(nh, dst, 16);
		return 0;
	}
	if (!gw)
		return -ENETUNREACH;
	memmove(nh, gw, 16);
	return 0;
}

int net_next_hop(const struct net_iface *ifc, const struct net_addr *dst, struct net_addr *nh)
{
	int rc;
	if (dst->family == NET_AF_IP4) {
		if (ifc->ip4 == 0)
			return -EADDRNOTAVAIL;
		uint32_t v4;
		rc = net_next_hop4(ifc->ip4, ifc->ip4_prefix, ifc->gw4, dst->v4, &v4);
		if (rc == 0)
			*nh = net_addr4(v4);
		return rc;
	}
	if (dst->family != NET_AF_IP6)
		return -EINVAL;
	if (!ifc->has_ip6)
		return -EADDRNOTAVAIL;
	if (net_iface_has_ip6(ifc, dst->v6))
		return -EHOSTUNREACH;
	uint8_t v6[16];
	rc = net_next_hop6(ifc->ip6, ifc->ip6_prefix, ifc->has_gw6 ? ifc->gw6 : NULL, dst->v6, v6);
	if (rc == 0)
		*nh = net_addr6(v6);
	return rc;
}
