/* ARP for Ethernet/IPv4 (RFC 826): answering requests for our address, the requests we send
 * to resolve next hops, gratuitous announcements (RFC 5227), and what a frame teaches us. */
#ifndef CAAS_NET_ARP_H
#define CAAS_NET_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

/*
 * Answer a request for ifc->ip4. frame was parsed into p by net_parse() (returning 0). Writes
 * the reply, with the request's VLAN tags, to out (which may be frame) and returns its length
 * (p->l2_len + 28; the NIC pads to the Ethernet minimum). An ARP probe (sender address 0,
 * RFC 5227) is answered too: that is how we defend our address. No reply is due when:
 *   -ENOMSG         it is not an ARP request, or it is our own request looped back
 *   -EADDRNOTAVAIL  it asks for another address (or ifc has no IPv4)
 *   -EADDRINUSE     the sender claims our address: an address conflict worth logging
 *   -EHOSTUNREACH   the sender MAC is not unicast, or the sender address is neither 0 nor
 *                   unicast (net_ip4_is_unicast())
 *   -ENOSPC         cap is too small
 */
int net_arp_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                  const struct net_iface *ifc);

/*
 * A request for target from ifc->ip4, broadcast, or unicast to dst_mac when re-probing a
 * neighbour we already know (RFC 1122 §2.3.2.1). Returns the frame length (42, or 46 tagged),
 * or -EADDRNOTAVAIL (ifc has no IPv4), -EINVAL (target is not unicast), -ENOSPC.
 */
int net_arp_request(uint8_t *out, size_t cap, const struct net_iface *ifc, uint32_t target,
                    const uint8_t *dst_mac);

/* A gratuitous ARP (RFC 5227 §2.3 announcement: a broadcast request with sender and target
 * address both ifc->ip4), sent at start-up and when the MAC changes. Returns the frame length,
 * or -EADDRNOTAVAIL, -ENOSPC. */
int net_arp_gratuitous(uint8_t *out, size_t cap, const struct net_iface *ifc);

/*
 * What an ARP request or reply (parsed into p) tells about its sender, for net_neigh_learn():
 * NET_LEARN_CREATE for a request to our address, NET_LEARN_CONFIRM for a reply to our address,
 * NET_LEARN_UPDATE for anything else (gratuitous, overheard). Returns 0, or -ENOENT when there
 * is nothing to learn: not ARP, a probe (sender 0), a non-unicast sender MAC or address, a
 * sender outside our subnet, or one claiming our own address or MAC.
 */
int net_arp_learn(const uint8_t *frame, const struct net_pkt *p, const struct net_iface *ifc,
                  struct net_learn *l);

#endif
