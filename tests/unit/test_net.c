/* L2/L3 library tests: checksums, parsing, header templates, ARP/ICMP/ND responders and
 * learning, against frames captured from Linux (ping, ping -R, ping -6, ARP and ND between two
 * network namespaces, tcpdump -xx) and replies computed independently in Python. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/arp.h"
#include "net/build.h"
#include "net/csum.h"
#include "net/icmp.h"
#include "net/nd.h"
#include "net/net.h"

/*
 * Captured between 02:00:00:00:00:01 (198.18.0.1, 2001:db8::1, fe80::ff:fe00:1) and
 * 02:00:00:00:00:02 (198.18.0.2, 2001:db8::2, fe80::ff:fe00:2):
 *   arp_req, arp_rep       Linux's ARP request for .2 and .2's reply
 *   ping_req               `ping -c1 198.18.0.2` (id 0x3c0e, seq 1, 56 data bytes)
 *   ping_rep_linux         Linux's answer to it
 *   pingr_req              `ping -R -s 8`: IPv4 with a 40-byte record-route option
 *   ns_req, na_rep         Linux's NS for 2001:db8::2 and .2's NA
 *   ping6_req              `ping -6 2001:db8::2`
 *   dad_ns                 Linux's DAD probe for 2001:db8::3 (source ::, nonce option 14)
 *   ll_req                 ping from fe80::ff:fe00:2 to fe80::ff:fe00:1
 *   udp4, udp6             a 21/22-byte RTP-looking datagram from port 5004 to 6000, checksum
 *                          offload off (tcpdump: "udp sum ok")
 *   udp6_ext               UDP behind hop-by-hop and destination options headers (PadN)
 * Computed (Python, own checksum code), following what the responders document:
 *   ping_rep               our echo reply: Linux's ICMP bytes, IPv4 id of the request, DF clear
 *   pingr_rep              our reply to pingr_req: options not echoed, 20-byte header
 *   ping6_rep, ll_rep      Linux's replies with the flow label zeroed
 *   dad_na                 NA for 2001:db8::3 to ff02::1, S clear, O set, TLLAO 02:..:02
 */
static const uint8_t arp_req[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
};

static const uint8_t arp_rep[42] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
};

static const uint8_t ping_req[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x68, 0xc9, 0x40, 0x00, 0x40, 0x01, 0x45, 0xb8, 0xc6, 0x12,
    0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x08, 0x00, 0x68, 0x10, 0x3c, 0x0e, 0x00, 0x01,
    0x70, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x5b, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t ping_rep_linux[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x0e, 0xdd, 0x00, 0x00, 0x40, 0x01, 0xdf, 0xa4, 0xc6, 0x12,
    0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x70, 0x10, 0x3c, 0x0e, 0x00, 0x01,
    0x70, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x5b, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t ping_rep[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x68, 0xc9, 0x00, 0x00, 0x40, 0x01, 0x85, 0xb8, 0xc6, 0x12,
    0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x70, 0x10, 0x3c, 0x0e, 0x00, 0x01,
    0x70, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x5b, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t pingr_req[90] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x4f,
    0x00, 0x00, 0x4c, 0x6b, 0xb0, 0x40, 0x00, 0x40, 0x01, 0x4a, 0xb6, 0xc6, 0x12, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0x01, 0x07, 0x27, 0x08, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
    0x00, 0xaf, 0xb2, 0x3c, 0x3c, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
};

static const uint8_t pingr_rep[50] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08,
    0x00, 0x45, 0x00, 0x00, 0x24, 0x6b, 0xb0, 0x00, 0x00, 0x40, 0x01, 0x83, 0x01,
    0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0xb7, 0xb2, 0x3c,
    0x3c, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
};

static const uint8_t ns_req[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x87, 0x00, 0x1c, 0x27, 0x00, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};

static const uint8_t na_rep[86] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x8a, 0x71, 0x60, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x02, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t ping6_req[118] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x07, 0xb7, 0x3c, 0x00, 0x40, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x68, 0x02, 0x3c, 0x10,
    0x00, 0x01, 0x70, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x46, 0x77, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t ping6_rep[118] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x40, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x67, 0x02, 0x3c, 0x10,
    0x00, 0x01, 0x70, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x46, 0x77, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t dad_ns[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x03, 0x87, 0x00, 0x03, 0x72, 0x00, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x03, 0x0e, 0x01, 0x9c, 0xc1, 0x9a, 0x7c, 0x04, 0x30,
};

static const uint8_t dad_na[86] = {
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0xf9, 0x25, 0x20, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x03, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t ll_req[118] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60,
    0x01, 0x6d, 0x88, 0x00, 0x40, 0x3a, 0x40, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x80, 0x00, 0xa0, 0xa3, 0x3c, 0xbb,
    0x00, 0x01, 0x86, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x9b, 0x0b, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t ll_rep[118] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x40, 0x3a, 0x40, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02, 0x81, 0x00, 0x9f, 0xa3, 0x3c, 0xbb,
    0x00, 0x01, 0x86, 0x47, 0x09, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x9b, 0x0b, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static const uint8_t udp4[63] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x31, 0x05, 0x75, 0x40, 0x00, 0x40, 0x11, 0xa9, 0x1f, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12,
    0x00, 0x02, 0x13, 0x8c, 0x17, 0x70, 0x00, 0x1d, 0x08, 0xf3, 0x80, 0xe0, 0x12, 0x34, 0x00, 0x00,
    0x00, 0x64, 0xca, 0xfe, 0xba, 0xbe, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x72, 0x74, 0x70,
};

static const uint8_t udp6[84] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
    0x60, 0x00, 0x1a, 0xe8, 0x00, 0x1e, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x13, 0x8c,
    0x17, 0x70, 0x00, 0x1e, 0x39, 0x6e, 0x80, 0xe0, 0x12, 0x34, 0x00, 0x00, 0x00, 0x64,
    0xca, 0xfe, 0xba, 0xbe, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x72, 0x74, 0x70, 0x36,
};

static const uint8_t udp6_ext[86] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x02, 0xa7, 0xe7, 0x00, 0x20, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x00, 0x01, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x11, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x13, 0x8e, 0x17, 0x72, 0x00,
    0x10, 0xc4, 0xe8, 0x65, 0x78, 0x74, 0x20, 0x68, 0x64, 0x72, 0x73,
};

static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t g1[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
static const uint8_t g2[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};
static const uint8_t g3[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x03};
#define IP1 0xc6120001u /* 198.18.0.1 */
#define IP2 0xc6120002u /* 198.18.0.2 */

static struct net_iface iface(const uint8_t mac[6], uint32_t ip4, const uint8_t ip6[16])
{
	struct net_iface ifc;
	memset(&ifc, 0, sizeof(ifc));
	memcpy(ifc.mac, mac, 6);
	ifc.ip4 = ip4;
	ifc.ip4_prefix = 24;
	ifc.gw4 = 0xc61200fe;
	ifc.has_ip6 = true;
	memcpy(ifc.ip6, ip6, 16);
	ifc.ip6_prefix = 64;
	net_ip6_ll_from_mac(ifc.ip6_ll, mac);
	return ifc;
}

/* Insert one or two VLAN tags after the MACs. Returns the new length. */
static size_t tag(uint8_t *out, const uint8_t *f, size_t len, uint16_t tpid1, uint16_t tci1,
                  uint16_t tpid2, uint16_t tci2)
{
	size_t off = 12;
	memcpy(out, f, 12);
	wr_be16(out + off, tpid1);
	wr_be16(out + off + 2, tci1);
	off += 4;
	if (tpid2) {
		wr_be16(out + off, tpid2);
		wr_be16(out + off + 2, tci2);
		off += 4;
	}
	memcpy(out + off, f + 12, len - 12);
	return len + off - 12;
}

/* Recompute checksums after a test edits a frame (untagged, no options or extensions). */
static void fix_ip4(uint8_t *f)
{
	wr_be16(f + 24, net_ip4_hdr_csum(f + 14));
}

static void fix_icmp6(uint8_t *f)
{
	size_t len = rd_be16(f + 18);
	wr_be16(f + 56, net_icmp6_csum(f + 22, f + 38, f + 54, len));
}

/* The plain RFC 1071 loop, to check the fast one against. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t rng_state = 0x12345678;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ---- checksums ------------------------------------------------------------------------------ */

/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d; at every alignment. */
static void test_csum_rfc1071(void **state)
{
	(void)state;
	static const uint8_t v[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint8_t buf[24];
	for (size_t a = 0; a < 8; a++) {
		memset(buf, 0xaa, sizeof(buf));
		memcpy(buf + a, v, sizeof(v));
		assert_int_equal(net_csum_fold(net_csum_partial(buf + a, 8, 0)), 0xddf2);
		assert_int_equal(net_csum(buf + a, 8), 0x220d);
	}
	/* Odd length: the last byte is the high half of a zero-padded word. */
	static const uint8_t odd[3] = {0x01, 0x02, 0x03};
	assert_int_equal(net_csum_fold(net_csum_partial(odd, 3, 0)), 0x0402);
	assert_int_equal(net_csum_fold(net_csum_partial(odd, 0, 0)), 0);
	/* Chained at an even split, and seeded with a sum. */
	uint32_t s = net_csum_partial(v, 4, 0);
	assert_int_equal(net_csum_fold(net_csum_partial(v + 4, 4, s)), 0xddf2);
	assert_int_equal(net_csum_fold(net_csum_partial(v, 8, 0xffff0000u)), 0xddf2);
}

static void test_csum_against_reference(void **state)
{
	(void)state;
	uint8_t buf[1600];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (size_t len = 0; len < 300; len++)
		for (size_t a = 0; a < 8; a++)
			assert_int_equal(net_csum_fold(net_csum_partial(buf + a, len, 0)),
			                 ref_sum(buf + a, len));
	assert_int_equal(net_csum_fold(net_csum_partial(buf, 1500, 0)), ref_sum(buf, 1500));
	/* All ones: 0xffff is -0, never folded to +0. */
	memset(buf, 0xff, 64);
	assert_int_equal(net_csum_fold(net_csum_partial(buf, 64, 0)), 0xffff);
}

/* RFC 1624 §4: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives 0x0000 (eqn. 2 would say 0xffff). */
static void test_csum_incremental(void **state)
{
	(void)state;
	assert_int_equal(net_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);

	uint8_t h[60];
	for (int iter = 0; iter < 20000; iter++) {
		size_t hlen = 20 + 4 * (rnd() % 11);
		for (size_t i = 0; i < hlen; i++)
			h[i] = (uint8_t)rnd();
		h[0] = (uint8_t)(0x40 | hlen / 4);
		wr_be16(h + 10, net_ip4_hdr_csum(h));
		assert_true(net_csum_ok(net_csum_partial(h, hlen, 0)));
		if (iter & 1) {
			size_t w = 2 * (rnd() % (hlen / 2));
			if (w == 10)
				continue;
			uint16_t old = rd_be16(h + w), new = (uint16_t)rnd();
			if (iter % 7 == 0)
				new = 0; /* the edge cases live at 0 and 0xffff */
			if (w == 0) /* keep version and IHL: the header length must not change */
				new = (uint16_t)(old & 0xff00) | (new & 0xff);
			uint16_t inc = net_csum_update16(rd_be16(h + 10), old, new);
			wr_be16(h + w, new);
			assert_int_equal(inc, net_ip4_hdr_csum(h));
		} else {
			/* An address, as NAT would change it. */
			size_t w = (rnd() & 1) ? 12 : 16;
			uint32_t old = rd_be32(h + w), new = rnd();
			uint16_t inc = net_csum_update32(rd_be16(h + 10), old, new);
			wr_be32(h + w, new);
			assert_int_equal(inc, net_ip4_hdr_csum(h));
		}
	}
}

static void test_ip4_hdr_csum(void **state)
{
	(void)state;
	assert_int_equal(net_ip4_hdr_csum(ping_req + 14), 0x45b8);
	assert_int_equal(net_ip4_hdr_csum(ping_rep_linux + 14), 0xdfa4);
	/* 60-byte header with record route */
	assert_int_equal(net_ip4_hdr_csum(pingr_req + 14), 0x4ab6);
	assert_int_equal(net_ip4_hdr_csum(udp4 + 14), 0xa91f);
}

static void test_udp_csum_vectors(void **state)
{
	(void)state;
	/* IPv4, 21-byte payload (odd): 0x08f3 as Linux computed it. */
	uint32_t ps = net_csum_partial(udp4 + 42, 21, 0);
	assert_int_equal(net_udp4_csum(udp4 + 14, udp4 + 34, ps), 0x08f3);
	/* The same payload summed in two pieces (RTP header, then media). */
	ps = net_csum_partial(udp4 + 54, 9, net_csum_partial(udp4 + 42, 12, 0));
	assert_int_equal(net_udp4_csum(udp4 + 14, udp4 + 34, ps), 0x08f3);
	/* IPv6: 0x396e. */
	ps = net_csum_partial(udp6 + 62, 22, 0);
	assert_int_equal(net_udp6_csum(udp6 + 14, udp6 + 54, ps), 0x396e);
	/* A payload that makes the sum come out 0 is sent as 0xffff (RFC 768), and verifies. */
	uint8_t f[128];
	struct net_pkt p;
	memcpy(f, udp6, sizeof(udp6));
	wr_be16(f + 62, 0);
	uint16_t c0 = net_udp6_csum(f + 14, f + 54, net_csum_partial(f + 62, 22, 0));
	wr_be16(f + 62, c0);
	assert_int_equal(net_udp6_csum(f + 14, f + 54, net_csum_partial(f + 62, 22, 0)), 0xffff);
	wr_be16(f + 60, 0xffff);
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), 0);
	memcpy(f, udp4, sizeof(udp4));
	wr_be16(f + 42, 0);
	c0 = net_udp4_csum(f + 14, f + 34, net_csum_partial(f + 42, 21, 0));
	wr_be16(f + 42, c0);
	assert_int_equal(net_udp4_csum(f + 14, f + 34, net_csum_partial(f + 42, 21, 0)), 0xffff);
	/* ICMP and ICMPv6 */
	assert_int_equal(net_icmp4_csum(ping_req + 34, 64), 0x6810);
	assert_int_equal(net_icmp6_csum(g1, g2, ping6_req + 54, 64), 0x6802);
	assert_int_equal(net_icmp6_csum(g2, g1, na_rep + 54, 32), 0x8a71);
}

/* ---- parsing -------------------------------------------------------------------------------- */

static void test_parse_arp(void **state)
{
	(void)state;
	struct net_pkt p;
	assert_int_equal(net_parse(arp_req, sizeof(arp_req), 0, &p), 0);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_ARP);
	assert_int_equal(p.vlan_count, 0);
	assert_int_equal(p.l2_len, 14);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l3_len, 28);
	assert_int_equal(p.frame_len, 42);
	assert_int_equal(p.ip_version, 0);
	assert_int_equal(p.arp_op, NET_ARP_OP_REQ);
	assert_int_equal(p.src.family, NET_AF_IP4);
	assert_int_equal(p.src.v4, IP1);
	assert_int_equal(p.dst.v4, IP2);

	/* Padded to the 60-byte minimum with junk: the padding is not ours. */
	uint8_t f[60];
	memset(f, 0x5a, sizeof(f));
	memcpy(f, arp_rep, sizeof(arp_rep));
	assert_int_equal(net_parse(f, sizeof(f), 0, &p), 0);
	assert_int_equal(p.frame_len, 42);
	assert_int_equal(p.arp_op, NET_ARP_OP_REPLY);

	/* Another hardware type, protocol type or address length. */
	memcpy(f, arp_req, sizeof(arp_req));
	f[15] = 6;
	assert_int_equal(net_parse(f, 42, 0, &p), -EOPNOTSUPP);
	memcpy(f, arp_req, sizeof(arp_req));
	f[16] = 0x86;
	f[17] = 0xdd;
	assert_int_equal(net_parse(f, 42, 0, &p), -EOPNOTSUPP);
	memcpy(f, arp_req, sizeof(arp_req));
	f[19] = 16;
	assert_int_equal(net_parse(f, 42, 0, &p), -EOPNOTSUPP);
}

static void test_parse_icmp4(void **state)
{
	(void)state;
	struct net_pkt p;
	assert_int_equal(net_parse(ping_req, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_IPV4);
	assert_int_equal(p.ip_version, 4);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l3_len, 20);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.l4_len, 64);
	assert_int_equal(p.payload_off, 42);
	assert_int_equal(p.payload_len, 56);
	assert_int_equal(p.frame_len, 98);
	assert_int_equal(p.proto, NET_PROTO_ICMP);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.tos, 0);
	assert_int_equal(p.flags, 0);
	assert_int_equal(p.icmp_type, NET_ICMP_ECHO_REQ);
	assert_int_equal(p.icmp_code, 0);
	assert_int_equal(p.src.v4, IP1);
	assert_int_equal(p.dst.v4, IP2);
	assert_int_equal(ping_req[p.payload_off + 55], 0x37);

	/* With a 40-byte record-route option. */
	assert_int_equal(net_parse(pingr_req, sizeof(pingr_req), 0, &p), 0);
	assert_int_equal(p.l3_len, 60);
	assert_int_equal(p.l4_off, 74);
	assert_int_equal(p.l4_len, 16);
	assert_int_equal(p.payload_len, 8);
	assert_true(p.flags & NET_PKT_IP_OPTS);
	assert_int_equal(p.icmp_type, NET_ICMP_ECHO_REQ);
}

static void test_parse_udp(void **state)
{
	(void)state;
	struct net_pkt p;
	assert_int_equal(net_parse(udp4, sizeof(udp4), 0, &p), 0);
	assert_int_equal(p.proto, NET_PROTO_UDP);
	assert_int_equal(p.sport, 5004);
	assert_int_equal(p.dport, 6000);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.l4_len, 29);
	assert_int_equal(p.payload_off, 42);
	assert_int_equal(p.payload_len, 21);
	assert_int_equal(udp4[p.payload_off], 0x80);
	assert_int_equal(udp4[p.payload_off + 20], 'p');
	assert_int_equal(p.flags, 0);

	assert_int_equal(net_parse(udp6, sizeof(udp6), 0, &p), 0);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_IPV6);
	assert_int_equal(p.l3_len, 40);
	assert_int_equal(p.l4_off, 54);
	assert_int_equal(p.payload_off, 62);
	assert_int_equal(p.payload_len, 22);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.src.family, NET_AF_IP6);
	assert_memory_equal(p.src.v6, g1, 16);
	assert_memory_equal(p.dst.v6, g2, 16);
	assert_int_equal(p.dport, 6000);

	/* Hop-by-hop and destination options, each 8 bytes, skipped. */
	assert_int_equal(net_parse(udp6_ext, sizeof(udp6_ext), 0, &p), 0);
	assert_int_equal(p.l3_len, 56);
	assert_int_equal(p.l4_off, 70);
	assert_int_equal(p.proto, NET_PROTO_UDP);
	assert_int_equal(p.sport, 5006);
	assert_int_equal(p.dport, 6002);
	assert_int_equal(p.payload_len, 8);
	assert_memory_equal(udp6_ext + p.payload_off, "ext hdrs", 8);
	assert_true(p.flags & NET_PKT_IP_OPTS);

	/* Ethernet padding after a short IPv4 datagram is ignored (checksum and lengths hold). */
	uint8_t f[128];
	memset(f, 0xee, sizeof(f));
	memcpy(f, udp4, sizeof(udp4));
	assert_int_equal(net_parse(f, 64, 0, &p), 0);
	assert_int_equal(p.frame_len, sizeof(udp4));
	assert_int_equal(p.payload_len, 21);
}

static void test_parse_vlan(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];
	size_t n = tag(f, arp_req, sizeof(arp_req), NET_ETHERTYPE_VLAN, 0x2064, 0, 0);
	assert_int_equal(n, 46);
	assert_int_equal(net_parse(f, n, 0, &p), 0);
	assert_int_equal(p.vlan_count, 1);
	assert_int_equal(p.vlan_tci, 0x2064);
	assert_int_equal(p.vlan_tci & NET_VLAN_VID_MASK, 100);
	assert_int_equal(p.l2_len, 18);
	assert_int_equal(p.l3_off, 18);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_ARP);
	assert_int_equal(p.dst.v4, IP2);
	for (size_t k = 14; k < 18; k++)
		assert_int_equal(net_parse(f, k, 0, &p), -EMSGSIZE);

	/* 802.1ad outer (VID 200) and 802.1Q inner (VID 100): the outer is reported. */
	n = tag(f, udp6, sizeof(udp6), NET_ETHERTYPE_QINQ, 200, NET_ETHERTYPE_VLAN, 100);
	assert_int_equal(net_parse(f, n, 0, &p), 0);
	assert_int_equal(p.vlan_count, 2);
	assert_int_equal(p.vlan_tci, 200);
	assert_int_equal(p.vlan_inner_tci, 100);
	assert_int_equal(p.l2_len, 22);
	assert_int_equal(p.payload_off, 70);
	assert_int_equal(p.dport, 6000);
	n = tag(f, udp4, sizeof(udp4), NET_ETHERTYPE_QINQ_OLD, 7, NET_ETHERTYPE_VLAN, 8);
	assert_int_equal(net_parse(f, n, 0, &p), 0);
	assert_int_equal(p.vlan_tci, 7);

	/* A third tag. */
	uint8_t g[160];
	n = tag(f, udp4, sizeof(udp4), NET_ETHERTYPE_VLAN, 1, NET_ETHERTYPE_VLAN, 2);
	n = tag(g, f, n, NET_ETHERTYPE_VLAN, 3, 0, 0);
	assert_int_equal(net_parse(g, n, 0, &p), -ELOOP);
}

/* Every prefix of a valid frame fails, with the errno of the layer it ends in. */
static void check_prefixes(const uint8_t *f, size_t len)
{
	struct net_pkt p;
	assert_int_equal(net_parse(f, len, 0, &p), 0);
	size_t l3 = p.l3_off, hdr;
	if (p.ethertype == NET_ETHERTYPE_ARP)
		hdr = 28;
	else if (p.ip_version == 4)
		hdr = 4u * (f[l3] & 15);
	else
		hdr = 40;
	for (size_t n = 0; n < p.frame_len; n++) {
		int rc = net_parse(f, n, 0, &p);
		int want;
		if (n < l3 || p.ethertype == NET_ETHERTYPE_ARP)
			want = -EMSGSIZE;
		else if (n < l3 + (p.ip_version == 4 ? 20 : 40))
			want = -EMSGSIZE;
		else if (n < l3 + hdr)
			want = -EMSGSIZE; /* IPv4 options cut */
		else
			want = -EOVERFLOW; /* header whole, IP length past the frame */
		if (rc != want)
			fail_msg("prefix %zu of %zu: %d, want %d", n, len, rc, want);
	}
}

static void test_parse_truncated(void **state)
{
	(void)state;
	check_prefixes(arp_req, sizeof(arp_req));
	check_prefixes(ping_req, sizeof(ping_req));
	check_prefixes(pingr_req, sizeof(pingr_req));
	check_prefixes(udp4, sizeof(udp4));
	check_prefixes(udp6, sizeof(udp6));
	check_prefixes(udp6_ext, sizeof(udp6_ext));
	check_prefixes(ns_req, sizeof(ns_req));

	/* The IP length itself ending inside the L4 header. */
	struct net_pkt p;
	uint8_t f[128];
	memcpy(f, udp4, sizeof(udp4));
	wr_be16(f + 16, 20 + 7);
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EMSGSIZE);
	assert_int_equal(p.l4_off, 34); /* L3 was filled before the failure */
	assert_int_equal(p.src.v4, IP1);
	memcpy(f, ping_req, sizeof(ping_req));
	wr_be16(f + 16, 20 + 4);
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EMSGSIZE);
	memcpy(f, udp6, sizeof(udp6));
	wr_be16(f + 18, 6);
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EMSGSIZE);
	/* An extension header running past the IPv6 payload. */
	memcpy(f, udp6_ext, sizeof(udp6_ext));
	wr_be16(f + 18, 12); /* HBH (8) whole, DSTOPTS cut after 4 bytes */
	assert_int_equal(net_parse(f, sizeof(udp6_ext), 0, &p), -EMSGSIZE);
	memcpy(f, udp6_ext, sizeof(udp6_ext));
	f[55] = 3; /* HBH claims 32 bytes */
	wr_be16(f + 18, 24);
	assert_int_equal(net_parse(f, sizeof(udp6_ext), 0, &p), -EMSGSIZE);
}

static void test_parse_bad_ip4(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];

	memcpy(f, ping_req, sizeof(ping_req));
	f[14] = 0x44; /* IHL 4 */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EBADMSG);
	f[14] = 0x40;
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EBADMSG);

	memcpy(f, ping_req, sizeof(ping_req));
	f[14] = 0x65; /* version 6 under the IPv4 ethertype */
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EPROTO);
	memcpy(f, udp6, sizeof(udp6));
	f[14] = 0x40;
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EPROTO);

	memcpy(f, ping_req, sizeof(ping_req));
	wr_be16(f + 16, 19); /* total length < header */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EBADMSG);
	wr_be16(f + 16, 85); /* one byte past the frame */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EOVERFLOW);

	memcpy(f, ping_req, sizeof(ping_req));
	f[24] ^= 1;
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EILSEQ);
	assert_int_equal(p.src.v4, IP1); /* still says who sent it */
	/* The NIC said the header checksum was good: not checked again. */
	assert_int_equal(net_parse(f, sizeof(ping_req), NET_PARSE_IP_CSUM_OK, &p), 0);
	/* An option byte flipped in the 60-byte header is caught too. */
	memcpy(f, pingr_req, sizeof(pingr_req));
	f[40] ^= 0x80;
	assert_int_equal(net_parse(f, sizeof(pingr_req), 0, &p), -EILSEQ);
}

static void test_parse_fragments(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];

	memcpy(f, udp4, sizeof(udp4));
	wr_be16(f + 20, NET_IP4_MF); /* first fragment */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EFBIG);
	assert_true(p.flags & NET_PKT_FRAG);
	assert_int_equal(p.src.v4, IP1);
	assert_int_equal(p.proto, NET_PROTO_UDP);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.sport, 0); /* L4 not looked at */
	wr_be16(f + 20, 0x0010);      /* last fragment, offset 128 */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EFBIG);
	wr_be16(f + 20, NET_IP4_DF); /* DF alone is no fragment */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), 0);

	/* IPv6: UDP behind a fragment header. */
	memcpy(f, udp6, 54);
	f[20] = NET_PROTO_FRAGMENT;
	uint8_t fh[8] = {NET_PROTO_UDP, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef}; /* M=1 */
	memcpy(f + 54, fh, 8);
	memcpy(f + 62, udp6 + 54, 30);
	wr_be16(f + 18, 38);
	assert_int_equal(net_parse(f, 92, 0, &p), -EFBIG);
	assert_true(p.flags & NET_PKT_FRAG);
	assert_int_equal(p.proto, NET_PROTO_UDP);
	assert_int_equal(p.l4_off, 62);
	assert_int_equal(net_parse(f, 58, 0, &p), -EOVERFLOW);
	wr_be16(f + 18, 4);
	assert_int_equal(net_parse(f, 58, 0, &p), -EMSGSIZE);
}

static void test_parse_bad_udp(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];

	memcpy(f, udp4, sizeof(udp4));
	wr_be16(f + 38, 28); /* one less than the IP payload */
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -ERANGE);
	assert_int_equal(p.dport, 6000);
	wr_be16(f + 38, 30);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -ERANGE);
	wr_be16(f + 38, 4);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -ERANGE);

	memcpy(f, udp4, sizeof(udp4));
	f[50] ^= 0x01; /* payload corrupted */
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EBADE);
	assert_int_equal(net_parse(f, sizeof(udp4), NET_PARSE_UDP_CSUM_OK, &p), 0);
	wr_be16(f + 40, 0); /* no checksum: fine over IPv4 */
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), 0);
	assert_true(p.flags & NET_PKT_UDP_NOCS);

	memcpy(f, udp6, sizeof(udp6));
	f[70] ^= 0x40;
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EBADE);
	memcpy(f, udp6, sizeof(udp6));
	wr_be16(f + 60, 0); /* mandatory over IPv6 */
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EBADE);
	assert_int_equal(net_parse(f, sizeof(udp6), NET_PARSE_UDP_CSUM_OK, &p), -EBADE);
	memcpy(f, udp6, sizeof(udp6));
	wr_be16(f + 58, 29);
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -ERANGE);
}

static void test_parse_bad_ip6(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[256];

	memcpy(f, udp6, sizeof(udp6));
	wr_be16(f + 18, 31); /* payload length past the frame */
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EOVERFLOW);

	/* Hop-by-hop anywhere but first. */
	memcpy(f, udp6_ext, sizeof(udp6_ext));
	f[20] = NET_PROTO_DSTOPTS;
	f[54] = NET_PROTO_HOPOPTS;
	assert_int_equal(net_parse(f, sizeof(udp6_ext), 0, &p), -EBADMSG);

	/* A routing header with segments left: we would have to forward it. */
	memcpy(f, udp6_ext, sizeof(udp6_ext));
	f[54] = NET_PROTO_ROUTING;
	uint8_t rh[8] = {NET_PROTO_UDP, 0, 4, 1, 0, 0, 0, 0};
	memcpy(f + 62, rh, 8);
	assert_int_equal(net_parse(f, sizeof(udp6_ext), 0, &p), -EPROTONOSUPPORT);
	assert_int_equal(p.proto, NET_PROTO_ROUTING);
	f[65] = 0; /* segments left 0: skipped (the UDP checksum still holds) */
	assert_int_equal(net_parse(f, sizeof(udp6_ext), 0, &p), 0);
	assert_int_equal(p.dport, 6002);

	/* Nine destination options headers. */
	memcpy(f, udp6, 54);
	f[20] = NET_PROTO_DSTOPTS;
	size_t o = 54;
	for (int i = 0; i < 9; i++, o += 8) {
		uint8_t d[8] = {i == 8 ? NET_PROTO_UDP : NET_PROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0};
		memcpy(f + o, d, 8);
	}
	memcpy(f + o, udp6 + 54, 30);
	wr_be16(f + 18, (uint16_t)(o + 30 - 54));
	assert_int_equal(net_parse(f, o + 30, 0, &p), -ELOOP);
	/* Eight are fine. */
	memmove(f + 54, f + 62, o + 30 - 62);
	wr_be16(f + 18, (uint16_t)(o + 22 - 54));
	assert_int_equal(net_parse(f, o + 22, 0, &p), 0);
	assert_int_equal(p.l4_off, 54 + 64);
}

static void test_parse_unsupported(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];

	for (size_t n = 0; n < 14; n++)
		assert_int_equal(net_parse(arp_req, n, 0, &p), -EMSGSIZE);
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be16(f + 12, 0x88cc); /* LLDP */
	assert_int_equal(net_parse(f, sizeof(arp_req), 0, &p), -EAFNOSUPPORT);
	assert_int_equal(p.ethertype, 0x88cc);
	wr_be16(f + 12, 0x002e); /* 802.3 length field */
	assert_int_equal(net_parse(f, sizeof(arp_req), 0, &p), -EAFNOSUPPORT);

	memcpy(f, udp4, sizeof(udp4));
	f[23] = 6; /* TCP */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EPROTONOSUPPORT);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.l4_off, 34);
	memcpy(f, udp4, sizeof(udp4));
	f[23] = NET_PROTO_ICMPV6; /* ICMPv6 over IPv4 */
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(udp4), 0, &p), -EPROTONOSUPPORT);
	memcpy(f, udp6, sizeof(udp6));
	f[20] = NET_PROTO_ICMP; /* ICMP over IPv6 */
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EPROTONOSUPPORT);
	f[20] = 59; /* no next header */
	assert_int_equal(net_parse(f, sizeof(udp6), 0, &p), -EPROTONOSUPPORT);

	memcpy(f, ping_req, sizeof(ping_req));
	f[97] ^= 0xff; /* ICMP data corrupted */
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), -EBADE);
	memcpy(f, ping6_req, sizeof(ping6_req));
	f[60] ^= 1;
	assert_int_equal(net_parse(f, sizeof(ping6_req), 0, &p), -EBADE);
	/* The NIC's UDP verdict says nothing about ICMP. */
	assert_int_equal(net_parse(f, sizeof(ping6_req), NET_PARSE_UDP_CSUM_OK, &p), -EBADE);
}

/* A bare IP packet, as GTP-U carries it: the same parse, offsets from the IP header. */
static void test_parse_bare_ip(void **state)
{
	(void)state;
	struct net_pkt p;
	uint8_t f[128];

	assert_int_equal(net_parse_ip(udp4 + 14, sizeof(udp4) - 14, 0, &p), 0);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_IPV4);
	assert_int_equal(p.l2_len, 0);
	assert_int_equal(p.l3_off, 0);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.payload_off, 28);
	assert_int_equal(p.payload_len, 21);
	assert_int_equal(p.frame_len, 49);
	assert_int_equal(p.src.v4, IP1);
	assert_int_equal(p.dport, 6000);
	assert_int_equal(net_parse_ip(udp6_ext + 14, sizeof(udp6_ext) - 14, 0, &p), 0);
	assert_int_equal(p.ethertype, NET_ETHERTYPE_IPV6);
	assert_int_equal(p.l4_off, 56);
	assert_int_equal(p.payload_len, 8);
	assert_int_equal(p.sport, 5006);
	assert_int_equal(net_parse_ip(ping6_req + 14, sizeof(ping6_req) - 14, 0, &p), 0);
	assert_int_equal(p.icmp_type, NET_ICMP6_ECHO_REQ);

	assert_int_equal(net_parse_ip(udp4 + 14, 0, 0, &p), -EMSGSIZE);
	for (size_t n = 1; n < 20; n++)
		assert_int_equal(net_parse_ip(udp4 + 14, n, 0, &p), -EMSGSIZE);
	for (size_t n = 20; n < 49; n++)
		assert_int_equal(net_parse_ip(udp4 + 14, n, 0, &p), -EOVERFLOW);
	for (size_t n = 1; n < 40; n++)
		assert_int_equal(net_parse_ip(udp6 + 14, n, 0, &p), -EMSGSIZE);
	/* Neither version 4 nor 6 (an ARP body starts with 0x00). */
	assert_int_equal(net_parse_ip(arp_req + 14, 28, 0, &p), -EPROTO);
	memcpy(f, udp4 + 14, sizeof(udp4) - 14);
	f[0] = 0x55;
	assert_int_equal(net_parse_ip(f, sizeof(udp4) - 14, 0, &p), -EPROTO);
	f[0] = 0x45;
	f[10] ^= 1;
	assert_int_equal(net_parse_ip(f, sizeof(udp4) - 14, 0, &p), -EILSEQ);
	f[10] ^= 1;
	f[30] ^= 1;
	assert_int_equal(net_parse_ip(f, sizeof(udp4) - 14, 0, &p), -EBADE);
}

static void test_parse_err_names(void **state)
{
	(void)state;
	assert_string_equal(net_parse_err_name(-EMSGSIZE), "truncated");
	assert_string_equal(net_parse_err_name(-EILSEQ), "bad_ip_checksum");
	assert_string_equal(net_parse_err_name(-EBADE), "bad_l4_checksum");
	assert_string_equal(net_parse_err_name(-EFBIG), "fragment");
	assert_string_equal(net_parse_err_name(-EAFNOSUPPORT), "unsupported_ethertype");
	assert_string_equal(net_parse_err_name(-ENOMEM), "other");
}

/* ---- builders ------------------------------------------------------------------------------- */

static struct net_udp_flow flow4(void)
{
	struct net_udp_flow f;
	memset(&f, 0, sizeof(f));
	memcpy(f.dst_mac, mac2, 6);
	memcpy(f.src_mac, mac1, 6);
	f.src = net_addr4(IP1);
	f.dst = net_addr4(IP2);
	f.sport = 5004;
	f.dport = 6000;
	return f;
}

static struct net_udp_flow flow6(void)
{
	struct net_udp_flow f = flow4();
	f.src = net_addr6(g1);
	f.dst = net_addr6(g2);
	f.flow_label = 0x01ae8;
	return f;
}

/* The template reproduces Linux's headers byte for byte. */
static void test_tmpl_matches_linux(void **state)
{
	(void)state;
	struct net_tmpl t;
	uint8_t f[128];
	struct net_pkt p;
	struct net_udp_flow fl = flow4();

	assert_int_equal(net_tmpl_init(&t, &fl), 0);
	assert_int_equal(t.len, 42);
	memset(f, 0xcc, sizeof(f));
	net_tmpl_write4(&t, f, 21, 0x0575);
	assert_int_equal(f[42], 0xcc); /* nothing written past the header */
	assert_memory_equal(f, udp4, 40);
	assert_int_equal(rd_be16(f + 40), 0); /* UDP checksum left out over IPv4 */
	memcpy(f + 42, udp4 + 42, 21);
	assert_int_equal(net_parse(f, 63, 0, &p), 0);
	assert_true(p.flags & NET_PKT_UDP_NOCS);
	wr_be16(f + 40, net_udp4_csum(f + 14, f + 34, net_csum_partial(f + 42, 21, 0)));
	assert_memory_equal(f, udp4, sizeof(udp4));

	fl = flow6();
	assert_int_equal(net_tmpl_init(&t, &fl), 0);
	assert_int_equal(t.len, 62);
	memset(f, 0xcc, sizeof(f));
	net_tmpl_write6(&t, f, 22, net_csum_partial(udp6 + 62, 22, 0));
	assert_int_equal(f[62], 0xcc);
	assert_memory_equal(f, udp6, 62);

	/* The one-off writer gives the same bytes. */
	memset(f, 0, sizeof(f));
	assert_int_equal(
	    net_udp_hdrs_write(f, sizeof(f), &fl, 22, 0, net_csum_partial(udp6 + 62, 22, 0)), 62);
	assert_memory_equal(f, udp6, 62);
}

/* Random lengths, ids, tags and payloads: every packet parses with good checksums. */
static void test_tmpl_random(void **state)
{
	(void)state;
	static uint8_t f[1600];
	struct net_pkt p;
	for (int iter = 0; iter < 4000; iter++) {
		struct net_udp_flow fl = (iter & 1) ? flow6() : flow4();
		fl.vlan = iter & 2;
		fl.vlan_tci = (uint16_t)(rnd() & 0xefff);
		fl.tos = (uint8_t)rnd();
		fl.ttl = (uint8_t)(rnd() | 1);
		fl.sport = (uint16_t)rnd();
		fl.flow_label = rnd();
		struct net_tmpl t;
		assert_int_equal(net_tmpl_init(&t, &fl), 0);
		uint16_t plen = (uint16_t)(rnd() % 1473);
		uint16_t id = (uint16_t)rnd();
		size_t off = t.len;
		for (size_t i = 0; i < plen; i++)
			f[off + i] = (uint8_t)rnd();
		/* The RTP header and the media summed separately, as the fan-out does. */
		size_t split = plen >= 12 ? 12 : 0;
		uint32_t ps = net_csum_partial(f + off + split, plen - split,
		                               net_csum_partial(f + off, split, 0));
		net_tmpl_write(&t, f, plen, id, ps);
		assert_int_equal(net_parse(f, off + plen, 0, &p), 0);
		assert_int_equal(p.payload_off, off);
		assert_int_equal(p.payload_len, plen);
		assert_int_equal(p.vlan_count, fl.vlan ? 1 : 0);
		assert_int_equal(p.vlan_tci, fl.vlan ? fl.vlan_tci : 0);
		assert_int_equal(p.tos, fl.tos);
		assert_int_equal(p.ttl, fl.ttl);
		assert_int_equal(p.sport, fl.sport);
		if (p.ip_version == 4) {
			assert_int_equal(rd_be16(f + p.l3_off + 4), id);
			assert_int_equal(rd_be16(f + p.l3_off + 10),
			                 net_ip4_hdr_csum(f + p.l3_off));
		} else {
			assert_int_equal(rd_be32(f + p.l3_off) & 0xfffff, fl.flow_label & 0xfffff);
		}
	}
}

static void test_tmpl_edges(void **state)
{
	(void)state;
	struct net_tmpl t;
	uint8_t f[128];
	struct net_pkt p;
	struct net_udp_flow fl = flow6();

	/* A payload whose sum makes the UDP checksum 0: sent as 0xffff (RFC 768). */
	assert_int_equal(net_tmpl_init(&t, &fl), 0);
	memset(f, 0, sizeof(f));
	net_tmpl_write6(&t, f, 2, 0);
	uint16_t c = rd_be16(f + 60);
	wr_be16(f + 62, c);
	net_tmpl_write6(&t, f, 2, net_csum_partial(f + 62, 2, 0));
	assert_int_equal(rd_be16(f + 60), 0xffff);
	assert_int_equal(net_parse(f, 64, 0, &p), 0);

	/* Tagged IPv6, the longest header. */
	fl.vlan = true;
	fl.vlan_tci = 100;
	assert_int_equal(net_tmpl_init(&t, &fl), 0);
	assert_int_equal(t.len, 66);
	assert_int_equal(net_tmpl_max_payload(&t), 65527);
	fl = flow4();
	assert_int_equal(net_tmpl_init(&t, &fl), 0);
	assert_int_equal(net_tmpl_max_payload(&t), 65507);

	assert_int_equal(net_udp_hdrs_write(f, sizeof(f), &fl, 65508, 1, 0), -EMSGSIZE);
	assert_int_equal(net_udp_hdrs_write(f, 41, &fl, 10, 1, 0), -ENOSPC);
	assert_int_equal(net_udp_hdrs_write(f, 42, &fl, 10, 1, 0), 42);
	fl.dst = net_addr6(g2);
	assert_int_equal(net_udp_hdrs_write(f, sizeof(f), &fl, 10, 1, 0), -EINVAL);
	assert_int_equal(net_tmpl_init(&t, &fl), -EINVAL);
	fl.src.family = fl.dst.family = 5;
	assert_int_equal(net_tmpl_init(&t, &fl), -EINVAL);
}

/* ---- ARP ------------------------------------------------------------------------------------ */

static void test_arp_reply_linux(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t out[128];

	assert_int_equal(net_parse(arp_req, sizeof(arp_req), 0, &p), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(net_arp_reply(out, sizeof(out), arp_req, &p, &ifc), 42);
	assert_memory_equal(out, arp_rep, sizeof(arp_rep));

	/* In place, on a padded frame. */
	uint8_t f[60];
	memset(f, 0x77, sizeof(f));
	memcpy(f, arp_req, sizeof(arp_req));
	assert_int_equal(net_parse(f, sizeof(f), 0, &p), 0);
	assert_int_equal(net_arp_reply(f, sizeof(f), f, &p, &ifc), 42);
	assert_memory_equal(f, arp_rep, sizeof(arp_rep));
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(p.arp_op, NET_ARP_OP_REPLY);
}

static void test_arp_reply_vlan(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t in[128], out[128], want[128];

	size_t n = tag(in, arp_req, sizeof(arp_req), NET_ETHERTYPE_VLAN, 0x6064, 0, 0);
	size_t wn = tag(want, arp_rep, sizeof(arp_rep), NET_ETHERTYPE_VLAN, 0x6064, 0, 0);
	assert_int_equal(net_parse(in, n, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), in, &p, &ifc), 46);
	assert_memory_equal(out, want, wn);

	n = tag(in, arp_req, sizeof(arp_req), NET_ETHERTYPE_QINQ, 300, NET_ETHERTYPE_VLAN, 100);
	wn = tag(want, arp_rep, sizeof(arp_rep), NET_ETHERTYPE_QINQ, 300, NET_ETHERTYPE_VLAN, 100);
	assert_int_equal(net_parse(in, n, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, 49, in, &p, &ifc), -ENOSPC);
	assert_int_equal(net_arp_reply(in, sizeof(in), in, &p, &ifc), 50);
	assert_memory_equal(in, want, wn);
}

static void test_arp_reply_rejects(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t f[64], out[64];

	/* For someone else, or we have no IPv4. */
	struct net_iface other = iface(mac2, 0xc6120009, g2);
	assert_int_equal(net_parse(arp_req, sizeof(arp_req), 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), arp_req, &p, &other), -EADDRNOTAVAIL);
	other.ip4 = 0;
	assert_int_equal(net_arp_reply(out, sizeof(out), arp_req, &p, &other), -EADDRNOTAVAIL);
	/* A reply is not answered. */
	assert_int_equal(net_parse(arp_rep, sizeof(arp_rep), 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), arp_rep, &p, &ifc), -ENOMSG);
	/* Not ARP at all. */
	assert_int_equal(net_parse(ping_req, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), ping_req, &p, &ifc), -ENOMSG);
	/* Someone else claims our address (a gratuitous ARP for .2 from 02:..:01). */
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be32(f + 28, IP2);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), f, &p, &ifc), -EADDRINUSE);
	/* Multicast sender MAC, multicast sender address. */
	memcpy(f, arp_req, sizeof(arp_req));
	f[22] = 0x01;
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be32(f + 28, 0xe0000001);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	/* Our own request looped back. */
	memcpy(f, arp_req, sizeof(arp_req));
	memcpy(f + 22, mac2, 6);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), f, &p, &ifc), -ENOMSG);
	/* Too small a buffer. */
	assert_int_equal(net_parse(arp_req, sizeof(arp_req), 0, &p), 0);
	assert_int_equal(net_arp_reply(out, 41, arp_req, &p, &ifc), -ENOSPC);

	/* An RFC 5227 probe (sender 0.0.0.0) is answered: we defend the address. */
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be32(f + 28, 0);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_reply(out, sizeof(out), f, &p, &ifc), 42);
	assert_memory_equal(out, arp_rep, 38);
	assert_int_equal(rd_be32(out + 38), 0);
}

static void test_arp_originate(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac1, IP1, g1);
	uint8_t out[64];
	struct net_pkt p;

	/* Our request for .2 is what Linux sent. */
	assert_int_equal(net_arp_request(out, sizeof(out), &ifc, IP2, NULL), 42);
	assert_memory_equal(out, arp_req, sizeof(arp_req));
	/* A unicast re-probe: same body, to the known MAC. */
	assert_int_equal(net_arp_request(out, sizeof(out), &ifc, IP2, mac2), 42);
	assert_memory_equal(out, mac2, 6);
	assert_memory_equal(out + 6, arp_req + 6, 36);

	/* Gratuitous: a broadcast request whose sender and target are both us. */
	assert_int_equal(net_arp_gratuitous(out, sizeof(out), &ifc), 42);
	assert_memory_equal(out, arp_req, 38);
	assert_int_equal(rd_be32(out + 38), IP1);
	assert_int_equal(net_parse(out, 42, 0, &p), 0);
	assert_int_equal(p.src.v4, IP1);
	assert_int_equal(p.dst.v4, IP1);

	/* On a VLAN. */
	ifc.vlan = true;
	ifc.vlan_tci = 42;
	assert_int_equal(net_arp_request(out, 45, &ifc, IP2, NULL), -ENOSPC);
	assert_int_equal(net_arp_request(out, sizeof(out), &ifc, IP2, NULL), 46);
	assert_int_equal(net_parse(out, 46, 0, &p), 0);
	assert_int_equal(p.vlan_tci, 42);
	assert_int_equal(p.dst.v4, IP2);

	assert_int_equal(net_arp_request(out, sizeof(out), &ifc, 0xffffffff, NULL), -EINVAL);
	ifc.ip4 = 0;
	assert_int_equal(net_arp_request(out, sizeof(out), &ifc, IP2, NULL), -EADDRNOTAVAIL);
	assert_int_equal(net_arp_gratuitous(out, sizeof(out), &ifc), -EADDRNOTAVAIL);
}

static void test_arp_learn(void **state)
{
	(void)state;
	struct net_iface ifc2 = iface(mac2, IP2, g2), ifc1 = iface(mac1, IP1, g1);
	struct net_pkt p;
	struct net_learn l;
	uint8_t f[64];

	/* .2 sees .1 ask for it: create .1. */
	assert_int_equal(net_parse(arp_req, sizeof(arp_req), 0, &p), 0);
	assert_int_equal(net_arp_learn(arp_req, &p, &ifc2, &l), 0);
	assert_int_equal(l.how, NET_LEARN_CREATE);
	assert_int_equal(l.ip.family, NET_AF_IP4);
	assert_int_equal(l.ip.v4, IP1);
	assert_memory_equal(l.mac, mac1, 6);
	assert_true(l.has_mac);
	/* A third host overhears it: update only. */
	struct net_iface ifc3 = iface(mac2, 0xc6120003, g3);
	assert_int_equal(net_arp_learn(arp_req, &p, &ifc3, &l), 0);
	assert_int_equal(l.how, NET_LEARN_UPDATE);
	/* .1 gets the reply: confirmed. */
	assert_int_equal(net_parse(arp_rep, sizeof(arp_rep), 0, &p), 0);
	assert_int_equal(net_arp_learn(arp_rep, &p, &ifc1, &l), 0);
	assert_int_equal(l.how, NET_LEARN_CONFIRM);
	assert_int_equal(l.ip.v4, IP2);
	assert_memory_equal(l.mac, mac2, 6);
	/* .2 sees its own reply: nothing (it claims our address). */
	assert_int_equal(net_arp_learn(arp_rep, &p, &ifc2, &l), -ENOENT);
	/* Nor does a frame from our own MAC, whatever address it gives. */
	struct net_iface ifc4 = iface(mac2, 0xc6120004, g3);
	assert_int_equal(net_arp_learn(arp_rep, &p, &ifc4, &l), -ENOENT);

	/* Gratuitous ARP from .1: update. */
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be32(f + 38, IP1);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_learn(f, &p, &ifc2, &l), 0);
	assert_int_equal(l.how, NET_LEARN_UPDATE);
	/* A probe teaches nothing; nor does a sender outside our /24. */
	memcpy(f, arp_req, sizeof(arp_req));
	wr_be32(f + 28, 0);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_learn(f, &p, &ifc2, &l), -ENOENT);
	wr_be32(f + 28, 0xc6130001);
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_learn(f, &p, &ifc2, &l), -ENOENT);
	wr_be32(f + 28, 0xc61200ff); /* the /24's broadcast */
	assert_int_equal(net_parse(f, 42, 0, &p), 0);
	assert_int_equal(net_arp_learn(f, &p, &ifc2, &l), -ENOENT);
	assert_int_equal(net_parse(ping_req, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_arp_learn(ping_req, &p, &ifc2, &l), -ENOENT);
}

/* ---- ICMP echo ------------------------------------------------------------------------------ */

static void test_icmp4_echo(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t out[256];

	assert_int_equal(net_parse(ping_req, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), ping_req, &p, &ifc), 98);
	assert_memory_equal(out, ping_rep, sizeof(ping_rep));
	/* The ICMP message is exactly Linux's: same id, seq, data, checksum 0x7010. */
	assert_memory_equal(out + 34, ping_rep_linux + 34, 64);
	assert_int_equal(rd_be16(out + 24), 0x85b8);
	assert_int_equal(net_parse(out, 98, 0, &p), 0);
	assert_int_equal(p.icmp_type, NET_ICMP_ECHO_REPLY);

	/* In place, tagged. */
	uint8_t f[256], want[256];
	size_t n = tag(f, ping_req, sizeof(ping_req), NET_ETHERTYPE_VLAN, 5, 0, 0);
	size_t wn = tag(want, ping_rep, sizeof(ping_rep), NET_ETHERTYPE_VLAN, 5, 0, 0);
	assert_int_equal(net_parse(f, n, 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(f, sizeof(f), f, &p, &ifc), 102);
	assert_memory_equal(f, want, wn);

	/* Record route: the options are not echoed, the message moves up 40 bytes. */
	assert_int_equal(net_parse(pingr_req, sizeof(pingr_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), pingr_req, &p, &ifc), 50);
	assert_memory_equal(out, pingr_rep, sizeof(pingr_rep));
	memcpy(f, pingr_req, sizeof(pingr_req));
	assert_int_equal(net_icmp4_echo_reply(f, sizeof(f), f, &p, &ifc), 50);
	assert_memory_equal(f, pingr_rep, sizeof(pingr_rep));
}

static void test_icmp4_echo_rejects(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t f[128], out[128];

	assert_int_equal(net_parse(ping_rep, sizeof(ping_rep), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), ping_rep, &p, &ifc), -ENOMSG);
	assert_int_equal(net_parse(ping_req, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, 97, ping_req, &p, &ifc), -ENOSPC);
	struct net_iface other = iface(mac2, 0xc6120009, g2);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), ping_req, &p, &other),
	                 -EADDRNOTAVAIL);
	/* From the subnet broadcast, or from a multicast MAC. */
	memcpy(f, ping_req, sizeof(ping_req));
	wr_be32(f + 26, 0xc61200ff);
	fix_ip4(f);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	memcpy(f, ping_req, sizeof(ping_req));
	f[6] = 0x03;
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	/* An all-zero echo (found by the fuzzer): the reply sums to +0, so its checksum is 0xffff,
	 * not the 0x0000 an RFC 1624 update of 0xf7ff would give. */
	memcpy(f, ping_req, sizeof(ping_req));
	memset(f + 34, 0, 64);
	f[34] = NET_ICMP_ECHO_REQ;
	wr_be16(f + 36, 0xf7ff);
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), f, &p, &ifc), 98);
	assert_int_equal(rd_be16(out + 36), 0xffff);
	assert_int_equal(net_csum_update16(0xf7ff, 0x0800, 0x0000), 0x0000);
	assert_int_equal(net_parse(out, 98, 0, &p), 0);
	/* Code 1 */
	memcpy(f, ping_req, sizeof(ping_req));
	f[35] = 1;
	wr_be16(f + 36, 0);
	wr_be16(f + 36, net_icmp4_csum(f + 34, 64));
	assert_int_equal(net_parse(f, sizeof(ping_req), 0, &p), 0);
	assert_int_equal(net_icmp4_echo_reply(out, sizeof(out), f, &p, &ifc), -ENOMSG);
}

static void test_icmp6_echo(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t out[256], f[256];

	assert_int_equal(net_parse(ping6_req, sizeof(ping6_req), 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), ping6_req, &p, &ifc), 118);
	assert_memory_equal(out, ping6_rep, sizeof(ping6_rep));
	assert_int_equal(rd_be16(out + 56), 0x6702);
	memcpy(f, ping6_req, sizeof(ping6_req));
	assert_int_equal(net_icmp6_echo_reply(f, sizeof(f), f, &p, &ifc), 118);
	assert_memory_equal(f, ping6_rep, sizeof(ping6_rep));

	/* To our link-local address (fe80::ff:fe00:1 is derived from 02:00:00:00:00:01). */
	struct net_iface ifc1 = iface(mac1, IP1, g1);
	assert_int_equal(net_parse(ll_req, sizeof(ll_req), 0, &p), 0);
	assert_memory_equal(p.dst.v6, ifc1.ip6_ll, 16);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), ll_req, &p, &ifc1), 118);
	assert_memory_equal(out, ll_rep, sizeof(ll_rep));

	/* Behind a destination options header, which is not echoed. */
	memcpy(f, ping6_req, 54);
	f[20] = NET_PROTO_DSTOPTS;
	uint8_t d[8] = {NET_PROTO_ICMPV6, 0, 1, 4, 0, 0, 0, 0};
	memcpy(f + 54, d, 8);
	memcpy(f + 62, ping6_req + 54, 64);
	wr_be16(f + 18, 72);
	assert_int_equal(net_parse(f, 126, 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(f, sizeof(f), f, &p, &ifc), 118);
	assert_memory_equal(f, ping6_rep, sizeof(ping6_rep));

	/* Not ours, from multicast, a reply, too small. */
	assert_int_equal(net_parse(ping6_req, sizeof(ping6_req), 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), ping6_req, &p, &ifc1),
	                 -EADDRNOTAVAIL);
	assert_int_equal(net_icmp6_echo_reply(out, 117, ping6_req, &p, &ifc), -ENOSPC);
	ifc1.has_ip6 = false;
	assert_int_equal(net_parse(ll_req, sizeof(ll_req), 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), ll_req, &p, &ifc1), -EADDRNOTAVAIL);
	memcpy(f, ping6_req, sizeof(ping6_req));
	f[22] = 0xff;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ping6_req), 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	assert_int_equal(net_parse(ping6_rep, sizeof(ping6_rep), 0, &p), 0);
	assert_int_equal(net_icmp6_echo_reply(out, sizeof(out), ping6_rep, &p, &ifc), -ENOMSG);
}

/* ---- Neighbor Discovery --------------------------------------------------------------------- */

static void test_nd_addresses(void **state)
{
	(void)state;
	uint8_t a[16], mac[6];
	static const uint8_t sn2[16] = {0xff, 0x02, [11] = 0x01, 0xff, 0x00, 0x00, 0x02};
	net_ip6_solicited_node(a, g2);
	assert_memory_equal(a, sn2, 16);
	net_ip6_mcast_mac(mac, a);
	assert_memory_equal(mac, ns_req, 6); /* 33:33:ff:00:00:02, as Linux sent it */
	static const uint8_t ll1[16] = {0xfe, 0x80, [11] = 0xff, 0xfe, 0x00, 0x00, 0x01};
	net_ip6_ll_from_mac(a, mac1);
	assert_memory_equal(a, ll1, 16);
	static const uint8_t m[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc};
	static const uint8_t llm[16] = {0xfe, 0x80, [8] = 0x02, 0x1b, 0x21,
	                                0xff, 0xfe, 0xaa,       0xbb, 0xcc};
	net_ip6_ll_from_mac(a, m);
	assert_memory_equal(a, llm, 16);
}

static void test_nd_na_linux(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t out[256], f[256];

	/* Linux's NS for 2001:db8::2 to ff02::1:ff00:2: our NA is byte for byte Linux's. */
	assert_int_equal(net_parse(ns_req, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(p.ttl, 255);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), ns_req, &p, &ifc), 86);
	assert_memory_equal(out, na_rep, sizeof(na_rep));
	memcpy(f, ns_req, sizeof(ns_req));
	assert_int_equal(net_nd_na_reply(f, sizeof(f), f, &p, &ifc), 86);
	assert_memory_equal(f, na_rep, sizeof(na_rep));
	assert_int_equal(net_parse(f, 86, 0, &p), 0);
	assert_int_equal(p.icmp_type, NET_ICMP6_ND_NA);
	assert_int_equal(p.ttl, 255);

	/* Unicast NS (neighbour unreachability detection) to our address. */
	memcpy(f, ns_req, sizeof(ns_req));
	memcpy(f + 38, g2, 16);
	memcpy(f, mac2, 6);
	fix_icmp6(f);
	assert_int_equal(net_parse(f, 86, 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), 86);
	assert_memory_equal(out, na_rep, sizeof(na_rep));

	/* Tagged: the tag is kept. */
	uint8_t want[256];
	size_t n = tag(f, ns_req, sizeof(ns_req), NET_ETHERTYPE_VLAN, 100, 0, 0);
	size_t wn = tag(want, na_rep, sizeof(na_rep), NET_ETHERTYPE_VLAN, 100, 0, 0);
	assert_int_equal(net_parse(f, n, 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), 90);
	assert_memory_equal(out, want, wn);
	assert_int_equal(net_nd_na_reply(out, 89, f, &p, &ifc), -ENOSPC);

	/* Without a source link-layer option the NA goes to the frame's source MAC. */
	memcpy(f, ns_req, 78);
	wr_be16(f + 18, 24);
	fix_icmp6(f);
	assert_int_equal(net_parse(f, 78, 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), 86);
	assert_memory_equal(out, na_rep, sizeof(na_rep));
}

static void test_nd_dad(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g3);
	struct net_pkt p;
	uint8_t out[256], f[256];

	/* Linux's duplicate address detection probe for ::3, which is ours: defend it. */
	assert_int_equal(net_parse(dad_ns, sizeof(dad_ns), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), dad_ns, &p, &ifc), 86);
	assert_memory_equal(out, dad_na, sizeof(dad_na));
	assert_int_equal(net_parse(out, 86, 0, &p), 0);

	/* A DAD probe must not carry a source link-layer option (nonce turned into one). */
	memcpy(f, dad_ns, sizeof(dad_ns));
	f[78] = NET_ND_OPT_SLLA;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(dad_ns), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	/* ... and must go to a solicited-node group. */
	memcpy(f, dad_ns, sizeof(dad_ns));
	memcpy(f + 38, g3, 16);
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(dad_ns), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
}

static void test_nd_rejects(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac2, IP2, g2);
	struct net_pkt p;
	uint8_t out[256], f[256];

	/* Hop limit 254: may come from off-link. */
	memcpy(f, ns_req, sizeof(ns_req));
	f[21] = 254;
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EPERM);
	/* Code 1 */
	memcpy(f, ns_req, sizeof(ns_req));
	f[55] = 1;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	/* Option of length 0, option running past the end. */
	memcpy(f, ns_req, sizeof(ns_req));
	f[79] = 0;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	f[79] = 2;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	/* Shorter than 24 bytes of message. */
	memcpy(f, ns_req, sizeof(ns_req));
	wr_be16(f + 18, 20);
	fix_icmp6(f);
	assert_int_equal(net_parse(f, 74, 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	/* Multicast target. */
	memcpy(f, ns_req, sizeof(ns_req));
	f[62] = 0xff;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EBADMSG);
	/* Not our target; sent to all-nodes instead of the solicited-node group. */
	static const uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 0x03};
	struct net_iface ifc3 = iface(mac3, 0xc6120003, g3);
	assert_int_equal(net_parse(ns_req, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), ns_req, &p, &ifc3), -EADDRNOTAVAIL);
	memcpy(f, ns_req, sizeof(ns_req));
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	memcpy(f + 38, all_nodes, 16);
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EADDRNOTAVAIL);
	/* Multicast source; our own NS looped back; an NA is no NS. */
	memcpy(f, ns_req, sizeof(ns_req));
	f[22] = 0xff;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -EHOSTUNREACH);
	memcpy(f, ns_req, sizeof(ns_req));
	memcpy(f + 6, mac2, 6);
	assert_int_equal(net_parse(f, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), f, &p, &ifc), -ENOMSG);
	assert_int_equal(net_parse(na_rep, sizeof(na_rep), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), na_rep, &p, &ifc), -ENOMSG);
	assert_int_equal(net_parse(ping6_req, sizeof(ping6_req), 0, &p), 0);
	assert_int_equal(net_nd_na_reply(out, sizeof(out), ping6_req, &p, &ifc), -ENOMSG);
}

static void test_nd_ns(void **state)
{
	(void)state;
	struct net_iface ifc = iface(mac1, IP1, g1);
	uint8_t out[128];
	struct net_pkt p;

	/* Our NS for 2001:db8::2 is what Linux sent. */
	assert_int_equal(net_nd_ns(out, sizeof(out), &ifc, g2, NULL), 86);
	assert_memory_equal(out, ns_req, sizeof(ns_req));
	/* A unicast probe to a known neighbour. */
	assert_int_equal(net_nd_ns(out, sizeof(out), &ifc, g2, mac2), 86);
	assert_int_equal(net_parse(out, 86, 0, &p), 0);
	assert_memory_equal(out, mac2, 6);
	assert_memory_equal(p.dst.v6, g2, 16);
	assert_int_equal(p.ttl, 255);
	assert_int_equal(p.icmp_type, NET_ICMP6_ND_NS);
	/* A link-local target is asked from our link-local address. */
	uint8_t ll2[16];
	net_ip6_ll_from_mac(ll2, mac2);
	ifc.vlan = true;
	ifc.vlan_tci = 7;
	assert_int_equal(net_nd_ns(out, sizeof(out), &ifc, ll2, NULL), 90);
	assert_int_equal(net_parse(out, 90, 0, &p), 0);
	assert_memory_equal(p.src.v6, ifc.ip6_ll, 16);
	assert_int_equal(p.vlan_tci, 7);
	/* The NS we send is one the other side answers. */
	struct net_iface ifc2 = iface(mac2, IP2, g2);
	ifc2.vlan = true;
	uint8_t na[128];
	assert_int_equal(net_nd_na_reply(na, sizeof(na), out, &p, &ifc2), 90);

	assert_int_equal(net_nd_ns(out, 89, &ifc, ll2, NULL), -ENOSPC);
	assert_int_equal(net_nd_ns(out, sizeof(out), &ifc, ns_req + 38, NULL), -EINVAL);
	ifc.has_ip6 = false;
	assert_int_equal(net_nd_ns(out, sizeof(out), &ifc, g2, NULL), -EADDRNOTAVAIL);
}

static void test_nd_learn(void **state)
{
	(void)state;
	struct net_iface ifc1 = iface(mac1, IP1, g1), ifc2 = iface(mac2, IP2, g2);
	struct net_pkt p;
	struct net_learn l;
	uint8_t f[128];

	assert_int_equal(net_parse(ns_req, sizeof(ns_req), 0, &p), 0);
	assert_int_equal(net_nd_learn(ns_req, &p, &ifc2, &l), 0);
	assert_int_equal(l.how, NET_LEARN_CREATE);
	assert_int_equal(l.ip.family, NET_AF_IP6);
	assert_memory_equal(l.ip.v6, g1, 16);
	assert_memory_equal(l.mac, mac1, 6);
	struct net_iface ifc3 = iface(mac2, 0xc6120003, g3);
	assert_int_equal(net_nd_learn(ns_req, &p, &ifc3, &l), 0);
	assert_int_equal(l.how, NET_LEARN_UPDATE);

	assert_int_equal(net_parse(na_rep, sizeof(na_rep), 0, &p), 0);
	assert_int_equal(net_nd_learn(na_rep, &p, &ifc1, &l), 0);
	assert_int_equal(l.how, NET_LEARN_CONFIRM);
	assert_memory_equal(l.ip.v6, g2, 16);
	assert_memory_equal(l.mac, mac2, 6);
	assert_true(l.has_mac);
	assert_true(l.override);

	/* An NA without its option, override clear, unsolicited. */
	memcpy(f, na_rep, 78);
	wr_be16(f + 18, 24);
	f[58] = 0;
	fix_icmp6(f);
	assert_int_equal(net_parse(f, 78, 0, &p), 0);
	assert_int_equal(net_nd_learn(f, &p, &ifc1, &l), 0);
	assert_false(l.has_mac);
	assert_false(l.override);
	assert_int_equal(l.how, NET_LEARN_UPDATE);
	/* Hop limit below 255: nothing learnt. */
	memcpy(f, na_rep, sizeof(na_rep));
	f[21] = 64;
	assert_int_equal(net_parse(f, sizeof(na_rep), 0, &p), 0);
	assert_int_equal(net_nd_learn(f, &p, &ifc1, &l), -ENOENT);

	/* DAD probes (source ::) and targets outside our prefix teach nothing. */
	assert_int_equal(net_parse(dad_ns, sizeof(dad_ns), 0, &p), 0);
	assert_int_equal(net_nd_learn(dad_ns, &p, &ifc2, &l), -ENOENT);
	memcpy(f, na_rep, sizeof(na_rep));
	f[67] = 0x01; /* target 2001:db8:1::2, outside 2001:db8::/64 */
	fix_icmp6(f);
	assert_int_equal(net_parse(f, sizeof(na_rep), 0, &p), 0);
	assert_int_equal(net_nd_learn(f, &p, &ifc1, &l), -ENOENT);
	assert_int_equal(net_parse(ping6_req, sizeof(ping6_req), 0, &p), 0);
	assert_int_equal(net_nd_learn(ping6_req, &p, &ifc2, &l), -ENOENT);
}

static void test_hostport(void **state)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	uint8_t a[16];
	uint16_t port;
	(void)state;

	assert_int_equal(net_hostport_parse("198.18.0.3:6000", true, a, &port), 4);
	assert_memory_equal(a, "\xc6\x12\x00\x03", 4);
	assert_int_equal(port, 6000);
	assert_int_equal(net_hostport_parse("[2001:db8::1]:65535", true, a, &port), 6);
	assert_memory_equal(a, v6, 16);
	assert_int_equal(port, 65535);
	/* without a port, where that is allowed */
	assert_int_equal(net_hostport_parse("198.18.0.3", false, a, &port), 4);
	assert_int_equal(port, 0);
	assert_int_equal(net_hostport_parse("2001:db8::1", false, a, &port), 6);
	assert_memory_equal(a, v6, 16);
	assert_int_equal(net_hostport_parse("[2001:db8::1]", false, a, &port), 6);
	assert_int_equal(net_hostport_parse("198.18.0.3:80", false, a, &port), 4);
	assert_int_equal(port, 80);
	/* refused */
	static const char *const bad[] = {
	    "198.18.0.3",
	    "198.18.0.3:",
	    "198.18.0.3:0",
	    "198.18.0.3:65536",
	    "198.18.0.3:+80",
	    "198.18.0.3:80x",
	    ":80",
	    "2001:db8::1:80",
	    "[2001:db8::1]",
	    "[2001:db8::1]80",
	    "[198.18.0.3]:80",
	    "host:80",
	    "198.18.0.300:80",
	    "[::1:80",
	    "198.18.0.3:0000080",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(net_hostport_parse(bad[i], true, a, &port), -EINVAL);
	assert_int_equal(net_hostport_parse("", false, a, &port), -EINVAL);
	assert_int_equal(net_hostport_parse("[]:80", true, a, &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_rfc1071),
	    cmocka_unit_test(test_csum_against_reference),
	    cmocka_unit_test(test_csum_incremental),
	    cmocka_unit_test(test_ip4_hdr_csum),
	    cmocka_unit_test(test_udp_csum_vectors),
	    cmocka_unit_test(test_parse_arp),
	    cmocka_unit_test(test_parse_icmp4),
	    cmocka_unit_test(test_parse_udp),
	    cmocka_unit_test(test_parse_vlan),
	    cmocka_unit_test(test_parse_truncated),
	    cmocka_unit_test(test_parse_bad_ip4),
	    cmocka_unit_test(test_parse_fragments),
	    cmocka_unit_test(test_parse_bad_udp),
	    cmocka_unit_test(test_parse_bad_ip6),
	    cmocka_unit_test(test_parse_unsupported),
	    cmocka_unit_test(test_parse_bare_ip),
	    cmocka_unit_test(test_parse_err_names),
	    cmocka_unit_test(test_tmpl_matches_linux),
	    cmocka_unit_test(test_tmpl_random),
	    cmocka_unit_test(test_tmpl_edges),
	    cmocka_unit_test(test_arp_reply_linux),
	    cmocka_unit_test(test_arp_reply_vlan),
	    cmocka_unit_test(test_arp_reply_rejects),
	    cmocka_unit_test(test_arp_originate),
	    cmocka_unit_test(test_arp_learn),
	    cmocka_unit_test(test_icmp4_echo),
	    cmocka_unit_test(test_icmp4_echo_rejects),
	    cmocka_unit_test(test_icmp6_echo),
	    cmocka_unit_test(test_nd_addresses),
	    cmocka_unit_test(test_nd_na_linux),
	    cmocka_unit_test(test_nd_dad),
	    cmocka_unit_test(test_nd_rejects),
	    cmocka_unit_test(test_nd_ns),
	    cmocka_unit_test(test_nd_learn),
	    cmocka_unit_test(test_hostport),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
