/* ICMP (RFC 792) and ICMPv6 (RFC 4443) echo: answering pings to our addresses. */
#ifndef CAAS_NET_ICMP_H
#define CAAS_NET_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

/*
 * Answer an ICMP echo request to ifc->ip4 (frame parsed into p by net_parse(), returning 0):
 * the reply keeps identifier, sequence number and data, and the request's VLAN tags; its IPv4
 * header is 20 bytes (request options such as record route are not echoed), TTL
 * NET_DEFAULT_TTL, the request's TOS and id, DF clear, the ICMP checksum recomputed. Written to
 * out, which may be frame. Returns the frame length
 * (p->l2_len + 20 + p->l4_len), or:
 *   -ENOMSG         not an echo request (type 8, code 0)
 *   -EADDRNOTAVAIL  not sent to ifc->ip4 (broadcast and multicast pings are not answered)
 *   -EHOSTUNREACH   the source is not a unicast host (net_ip4_is_unicast(), not our subnet's
 *                   broadcast) or the source MAC is multicast
 *   -ENOSPC         cap is too small
 */
int net_icmp4_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                         const struct net_iface *ifc);

/*
 * The same for ICMPv6 echo to our global or link-local address: the reply comes from the
 * address the request was sent to, with a plain 40-byte header (extension headers are not
 * echoed), traffic class 0, flow label 0, hop limit NET_DEFAULT_TTL, the checksum updated
 * for the new type (RFC 1624). Returns the frame length
 * (p->l2_len + 40 + p->l4_len), or -ENOMSG (not type 128 code 0), -EADDRNOTAVAIL (not to one of
 * our unicast addresses), -EHOSTUNREACH (source multicast or unspecified, or multicast source
 * MAC), -ENOSPC.
 */
int net_icmp6_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, const struct net_pkt *p,
                         const struct net_iface *ifc);

#endif
