/* IPv6 Neighbor Discovery (RFC 4861) for hosts: answering Neighbor Solicitations for our
 * addresses, the solicitations we send to resolve next hops, learning from NS and NA, and the
 * address mappings they need (solicited-node multicast, 33:33 MACs, EUI-64 link-local). */
#ifndef CAAS_NET_ND_H
#define CAAS_NET_ND_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define NET_ND_NS_LEN 32 /* NS or NA body: 24 bytes and one link-layer address option */

#define NET_ND_OPT_SLLA 1
#define NET_ND_OPT_TLLA 2

#define NET_ND_NA_ROUTER    0x80
#define NET_ND_NA_SOLICITED 0x40
#define NET_ND_NA_OVERRIDE  0x20

/* ff02::1:ffXX:XXXX from the low 24 bits of ip (RFC 4291 §2.7.1). */
void net_ip6_solicited_node(uint8_t out[16], const uint8_t ip[16]);

/* 33:33 and the low 32 bits of a multicast address (RFC 2464 §7). */
void net_ip6_mcast_mac(uint8_t mac[NET_ETH_ALEN], const uint8_t ip[16]);

/* fe80::/64 with the modified EUI-64 interface identifier of mac (RFC 4291 appendix A). */
void net_ip6_ll_from_mac(uint8_t out[16], const uint8_t mac[NET_ETH_ALEN]);

/*
 * Answer a Neighbor Solicitation (parsed into p by net_parse(), returning 0) whose target is
 * one of our addresses, sent to that address or to its solicited-node group. Writes a Neighbor
 * Advertisement with the request's VLAN tags to out (which may be frame): hop limit 255,
 * override set, our MAC in a target link-layer address option, solicited set and sent back to
 * the solicitor (to its source link-layer address when it gave one); a duplicate address
 * detection probe (source ::) is answered to all-nodes ff02::1 with solicited clear (§7.2.4).
 * Returns the frame length (p->l2_len + 72), or:
 *   -ENOMSG         not an NS, or our own NS looped back
 *   -EPERM          hop limit is not 255: it may come from off-link (§7.1.1)
 *   -EBADMSG        fails the other §7.1.1 checks: code, length, multicast target, option
 *                   length 0 or past the end, source :: with a link-layer option or sent to
 *                   anything but a solicited-node group
 *   -EADDRNOTAVAIL  the target is not ours, or it was sent to an address that is neither ours
 *                   nor the target's solicited-node group
 *   -EHOSTUNREACH   the source (IPv6, MAC or link-layer address option) is multicast
 *   -ENOSPC         cap is too small
 */
int net_nd_na_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                    const struct net_iface *ifc);

/*
 * A Neighbor Solicitation for target with our source link-layer address option: to the
 * target's solicited-node group and its 33:33:ff MAC, or unicast to target at dst_mac when
 * re-probing a neighbour we know (§7.3.3). The source is our link-local address for a
 * link-local target, our global one otherwise. Returns the frame length (86, or 90 tagged), or
 * -EADDRNOTAVAIL (no IPv6 on ifc), -EINVAL (target multicast or unspecified), -ENOSPC.
 */
int net_nd_ns(uint8_t *out, size_t cap, const struct net_iface *ifc, const uint8_t target[16],
              const uint8_t *dst_mac);

/*
 * What a valid NS or NA (parsed into p) tells, for net_neigh_learn(): an NS gives its source
 * and source link-layer address (NET_LEARN_CREATE when it solicits our address, else
 * NET_LEARN_UPDATE); an NA gives its target and target link-layer address if present, with its
 * override flag (NET_LEARN_CONFIRM when solicited, else NET_LEARN_UPDATE). Returns 0, or
 * -ENOENT when there is nothing to learn: not a valid NS/NA, an NS without source link-layer
 * address or from ::, an address that is ours, multicast, or neither link-local nor in our
 * prefix.
 */
int net_nd_learn(const uint8_t *frame, const struct net_pkt *p, const struct net_iface *ifc,
                 struct net_learn *l);

#endif
