/* The journal format: CRC32C, file header and record framing, the torn-tail scanner, recovery
 * length and pcap export. No allocation, no I/O: the recorder thread owns the file. */
#include "journal.h"

#include <errno.h>
#include <string.h>

#include "net/csum.h"
#include "rtp/bytes.h"

/* --- little-endian loads and stores (bytes.h has the network-order ones) --------------------- */

static inline uint16_t rd_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd_le64(const uint8_t *p)
{
	return (uint64_t)rd_le32(p) | (uint64_t)rd_le32(p + 4) << 32;
}

static inline void wr_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void wr_le32(uint8_t *p, uint32_t v)
{
	wr_le16(p, (uint16_t)v);
	wr_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void wr_le64(uint8_t *p, uint64_t v)
{
	wr_le32(p, (uint32_t)v);
	wr_le32(p + 4, (uint32_t)(v >> 32));
}

/* --- CRC32C ----------------------------------------------------------------------------------- */

/* Reflected polynomial 0x82f63b78, one byte a step. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t rec_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
/* The target attribute, not -msse4.2, so the library still runs on a CPU without SSE4.2. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                               size_t len)
{
	uint64_t c = (uint32_t)~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, sizeof(v)); /* little-endian, the order the instruction consumes */
		c = __builtin_ia32_crc32di(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}

bool rec_crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2");
}

uint32_t rec_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sse42(crc, buf, len);
}
#else
bool rec_crc32c_hw_available(void)
{
	return false;
}

uint32_t rec_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return rec_crc32c_sw(crc, buf, len);
}
#endif

uint32_t rec_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* Asked each time rather than cached: the library keeps no global state, and the check is a
	 * load of a word libgcc fills at start-up. */
	if (rec_crc32c_hw_available())
		return rec_crc32c_hw(crc, buf, len);
	return rec_crc32c_sw(crc, buf, len);
}

/* --- file header ------------------------------------------------------------------------------ */

enum {
	H_MAGIC = 0,
	H_VERSION = 8,
	H_HDR_LEN = 10,
	H_ID = 16,
	H_CREATED = 24,
	H_CLOCK = 32,
	H_PT = 36,
	H_MEDIA = 37,
	H_CODEC = 40,
	H_STREAM = 56,
};

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int rec_jnl_header_write(uint8_t *buf, size_t cap, const struct rec_jnl_info *info)
{
	if (info->payload_type > 127 || info->media > REC_JNL_MEDIA_AUDIO)
		return -EINVAL;
	size_t codec_len = strnlen(info->codec, REC_JNL_CODEC_LEN);
	size_t stream_len = strnlen(info->stream, REC_JNL_STREAM_LEN);
	if (codec_len == REC_JNL_CODEC_LEN || stream_len == REC_JNL_STREAM_LEN)
		return -ENAMETOOLONG;
	if (cap < REC_JNL_HDR_LEN)
		return -ENOSPC;

	memset(buf, 0, REC_JNL_HDR_LEN);
	memcpy(buf + H_MAGIC, REC_JNL_MAGIC, REC_JNL_MAGIC_LEN);
	wr_le16(buf + H_VERSION, REC_JNL_VERSION);
	wr_le16(buf + H_HDR_LEN, REC_JNL_HDR_LEN);
	wr_le64(buf + H_ID, info->journal_id);
	wr_le64(buf + H_CREATED, info->created_ns);
	wr_le32(buf + H_CLOCK, info->clock_rate);
	buf[H_PT] = info->payload_type;
	buf[H_MEDIA] = info->media;
	memcpy(buf + H_CODEC, info->codec, codec_len);
	memcpy(buf + H_STREAM, info->stream, stream_len);
	wr_le32(buf + REC_JNL_HDR_LEN - 4, rec_crc32c(0, buf, REC_JNL_HDR_LEN - 4));
	return REC_JNL_HDR_LEN;
}

int rec_jnl_header_parse(const uint8_t *buf, size_t len, struct rec_jnl_info *info)
{
	size_t n = len < REC_JNL_MAGIC_LEN ? len : REC_JNL_MAGIC_LEN;
	if (n && memcmp(buf, REC_JNL_MAGIC, n) != 0)
		return all_zero(buf, len) ? -EAGAIN : -EPROTO;
	if (len < H_HDR_LEN + 2)
		return -EAGAIN;
	uint16_t version = rd_le16(buf + H_VERSION);
	if (version != REC_JNL_VERSION)
		return -EPROTONOSUPPORT;
	uint16_t hlen = rd_le16(buf + H_HDR_LEN);
	if (hlen < REC_JNL_HDR_LEN || hlen > REC_JNL_HDR_MAX || hlen % REC_JNL_ALIGN)
		return -EMSGSIZE;
	if (len < hlen)
		return -EAGAIN;
	if (rd_le32(buf + hlen - 4) != rec_crc32c(0, buf, hlen - 4u))
		return -EBADMSG;
	if (!memchr(buf + H_CODEC, 0, REC_JNL_CODEC_LEN) ||
	    !memchr(buf + H_STREAM, 0, REC_JNL_STREAM_LEN))
		return -ENAMETOOLONG;

	info->version = version;
	info->header_len = hlen;
	info->journal_id = rd_le64(buf + H_ID);
	info->created_ns = rd_le64(buf + H_CREATED);
	info->clock_rate = rd_le32(buf + H_CLOCK);
	info->payload_type = buf[H_PT];
	info->media = buf[H_MEDIA];
	memcpy(info->codec, buf + H_CODEC, REC_JNL_CODEC_LEN);
	memcpy(info->stream, buf + H_STREAM, REC_JNL_STREAM_LEN);
	return hlen;
}

/* --- records ---------------------------------------------------------------------------------- */

enum {
	R_LEN = 0,
	R_CRC = 4,
	R_TYPE = 8,
	R_FLAGS = 9,
	R_LEN_CHECK = 10,
	R_SEQ = 12,
	R_REAL = 16,
	R_MONO = 24,
};

_Static_assert(REC_JNL_MAX_RECORD == ((REC_JNL_REC_HDR_LEN + REC_JNL_MAX_BODY + REC_JNL_ALIGN - 1) &
                                      ~(REC_JNL_ALIGN - 1)),
               "REC_JNL_MAX_RECORD");

/* rec[0..size): everything but the CRC field. */
static uint32_t record_crc(const uint8_t *rec, size_t size)
{
	return rec_crc32c(rec_crc32c(0, rec + R_LEN, 4), rec + R_TYPE, size - R_TYPE);
}

int rec_jnl_record_write(uint8_t *buf, size_t cap, const struct rec_jnl_rec *rec)
{
	size_t len = rec->len;
	if (rec->type == 0 || rec->type > REC_JNL_T_MAX || (rec->flags & ~REC_JNL_F_ALL))
		return -EINVAL;
	if (len > REC_JNL_MAX_BODY)
		return -EMSGSIZE;
	size_t size = rec_jnl_record_size(len);
	if (cap < size)
		return -ENOSPC;

	wr_le32(buf + R_LEN, (uint32_t)len);
	buf[R_TYPE] = rec->type;
	buf[R_FLAGS] = rec->flags;
	wr_le16(buf + R_LEN_CHECK, (uint16_t)~len);
	wr_le32(buf + R_SEQ, rec->seq);
	wr_le64(buf + R_REAL, rec->t_real_ns);
	wr_le64(buf + R_MONO, rec->t_mono_ns);
	if (len)
		memcpy(buf + REC_JNL_REC_HDR_LEN, rec->data, len);
	memset(buf + REC_JNL_REC_HDR_LEN + len, 0, size - REC_JNL_REC_HDR_LEN - len);
	wr_le32(buf + R_CRC, record_crc(buf, size));
	return (int)size;
}

int rec_jnl_next(struct rec_jnl_iter *it, struct rec_jnl_rec *rec)
{
	if (it->off == it->len)
		return 0;
	const uint8_t *p = it->buf + it->off;
	size_t rem = it->len - it->off;
	if (rem < REC_JNL_REC_HDR_LEN)
		return -EAGAIN;

	uint32_t blen = rd_le32(p + R_LEN);
	if (blen > REC_JNL_MAX_BODY || rd_le16(p + R_LEN_CHECK) != (uint16_t)~blen) {
		/* A length that landed without the rest of its header (a write torn at a sector
		 * boundary inside the header) is a torn tail too. */
		return all_zero(p + R_LEN_CHECK, rem - R_LEN_CHECK) ? -EAGAIN : -EMSGSIZE;
	}
	size_t size = rec_jnl_record_size(blen);
	if (size > rem)
		return -EAGAIN;
	if (rd_le32(p + R_CRC) != record_crc(p, size))
		return all_zero(p + size, rem - size) ? -EAGAIN : -EBADMSG;
	uint32_t seq = rd_le32(p + R_SEQ);
	if (seq != it->seq)
		return -EILSEQ;

	rec->seq = seq;
	rec->type = p[R_TYPE];
	rec->flags = p[R_FLAGS];
	rec->t_real_ns = rd_le64(p + R_REAL);
	rec->t_mono_ns = rd_le64(p + R_MONO);
	rec->data = p + REC_JNL_REC_HDR_LEN;
	rec->len = blen;
	rec->off = it->off;
	it->off += size;
	it->seq++;
	return 1;
}

ssize_t rec_jnl_recover_len(const uint8_t *buf, size_t len, uint32_t *next_seq)
{
	struct rec_jnl_info info;
	int hlen = rec_jnl_header_parse(buf, len, &info);
	if (next_seq)
		*next_seq = 0;
	if (hlen == -EAGAIN)
		return 0;
	if (hlen < 0)
		return hlen;

	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	int r;
	rec_jnl_iter_init(&it, buf, len, (size_t)hlen, 0);
	while ((r = rec_jnl_next(&it, &rec)) == 1)
		;
	if (r != 0 && r != -EAGAIN)
		return r;
	if (next_seq)
		*next_seq = it.seq;
	return (ssize_t)it.off;
}

/* --- pcap export ------------------------------------------------------------------------------ */

#define PCAP_MAGIC_NS 0xa1b23c4du
#define IP4_HDR_LEN   20
#define IP6_HDR_LEN   40
#define UDP_HDR_LEN   8
#define IPPROTO_UDP_  17 /* netinet/in.h would pull in socket headers for one number */

int rec_pcap_header_write(uint8_t *buf, size_t cap)
{
	if (cap < REC_PCAP_FILE_HDR_LEN)
		return -ENOSPC;
	wr_le32(buf, PCAP_MAGIC_NS);
	wr_le16(buf + 4, 2); /* version 2.4 */
	wr_le16(buf + 6, 4);
	wr_le32(buf + 8, 0); /* thiszone: timestamps are UTC */
	wr_le32(buf + 12, 0);
	wr_le32(buf + 16, REC_PCAP_SNAPLEN);
	wr_le32(buf + 20, REC_PCAP_LINKTYPE_RAW);
	return REC_PCAP_FILE_HDR_LEN;
}

int rec_pcap_record_write(uint8_t *buf, size_t cap, const struct rec_pcap_ends *ends,
                          const struct rec_jnl_rec *rec)
{
	if (rec->type != REC_JNL_T_RTP && rec->type != REC_JNL_T_RTCP)
		return 0;
	if (ends->family != 4 && ends->family != 6)
		return -EINVAL;
	size_t iphl = ends->family == 4 ? IP4_HDR_LEN : IP6_HDR_LEN;
	size_t udp_len = UDP_HDR_LEN + (size_t)rec->len;
	/* IPv4's total length counts its header; IPv6's payload length does not. */
	if (udp_len > 0xffff || (ends->family == 4 && iphl + udp_len > 0xffff))
		return -EMSGSIZE;
	size_t pkt_len = iphl + udp_len;
	if (cap < REC_PCAP_REC_HDR_LEN + pkt_len)
		return -ENOSPC;

	bool to_cam = rec->flags & REC_JNL_F_TO_CAMERA;
	bool rtcp = rec->type == REC_JNL_T_RTCP;
	const uint8_t *src = to_cam ? ends->box_addr : ends->cam_addr;
	const uint8_t *dst = to_cam ? ends->cam_addr : ends->box_addr;
	uint16_t cam_port = rtcp ? ends->cam_rtcp_port : ends->cam_rtp_port;
	uint16_t box_port = rtcp ? ends->box_rtcp_port : ends->box_rtp_port;

	wr_le32(buf, (uint32_t)(rec->t_real_ns / 1000000000u));
	wr_le32(buf + 4, (uint32_t)(rec->t_real_ns % 1000000000u));
	wr_le32(buf + 8, (uint32_t)pkt_len);
	wr_le32(buf + 12, (uint32_t)pkt_len);
	uint8_t *ip = buf + REC_PCAP_REC_HDR_LEN;
	uint8_t *udp = ip + iphl;
	memset(ip, 0, iphl);
	if (ends->family == 4) {
		ip[0] = 0x45;
		wr_be16(ip + 2, (uint16_t)pkt_len);
		wr_be16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP_;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wr_be16(ip + 10, net_ip4_hdr_csum(ip));
	} else {
		ip[0] = 0x60;
		wr_be16(ip + 4, (uint16_t)udp_len);
		ip[6] = IPPROTO_UDP_;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	wr_be16(udp, to_cam ? box_port : cam_port);
	wr_be16(udp + 2, to_cam ? cam_port : box_port);
	wr_be16(udp + 4, (uint16_t)udp_len);
	wr_be16(udp + 6, 0);
	if (rec->len)
		memcpy(udp + UDP_HDR_LEN, rec->data, rec->len);
	/* IPv6 requires the UDP checksum; IPv4 gets one too so Wireshark shows none as bad. */
	uint32_t sum = net_csum_partial(udp + UDP_HDR_LEN, rec->len, 0);
	wr_be16(udp + 6,
	        ends->family == 4 ? net_udp4_csum(ip, udp, sum) : net_udp6_csum(ip, udp, sum));
	return (int)(REC_PCAP_REC_HDR_LEN + pkt_len);
}

ssize_t rec_jnl_export_pcap(const uint8_t *buf, size_t len, const struct rec_pcap_ends *ends,
                            uint64_t from_ns, uint64_t to_ns, uint8_t *out, size_t cap,
                            size_t *npkts)
{
	struct rec_jnl_info info;
	int hlen = rec_jnl_header_parse(buf, len, &info);
	if (hlen < 0)
		return hlen;
	int n = rec_pcap_header_write(out, cap);
	if (n < 0)
		return n;
	size_t pos = (size_t)n;
	size_t count = 0;

	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	int r;
	rec_jnl_iter_init(&it, buf, len, (size_t)hlen, 0);
	while ((r = rec_jnl_next(&it, &rec)) == 1) {
		if (rec.t_real_ns < from_ns || rec.t_real_ns >= to_ns)
			continue;
		n = rec_pcap_record_write(out + pos, cap - pos, ends, &rec);
		if (n < 0)
			return n;
		pos += (size_t)n;
		count += n > 0;
	}
	if (r != 0 && r != -EAGAIN)
		return r;
	if (npkts)
		*npkts = count;
	return (ssize_t)pos;
}
