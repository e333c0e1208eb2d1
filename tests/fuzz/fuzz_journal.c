/* libFuzzer target: journal header parsing, record scanning and recovery on arbitrary bytes,
 * with the invariants recovery relies on, and a rewrite of every record the scanner accepts. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t scratch[REC_JNL_MAX_RECORD + REC_PCAP_REC_HDR_LEN + 64];
static uint8_t pcap[1 << 20];

static const struct rec_pcap_ends ends[2] = {
    {.family = 4,
     .cam_addr = {198, 18, 0, 10},
     .box_addr = {198, 19, 0, 1},
     5004,
     5005,
     40000,
     40001},
    {.family = 6,
     .cam_addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
     .box_addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
     5004,
     5004,
     40000,
     40000},
};

/* Scan buf from off with first seq; check every record and return the stop code. */
static int scan(const uint8_t *buf, size_t len, size_t off, uint32_t seq, size_t *cut,
                uint32_t *next_seq)
{
	struct rec_jnl_iter it;
	struct rec_jnl_rec rec;
	volatile uint8_t sink = 0;
	int r;
	rec_jnl_iter_init(&it, buf, len, off, seq);
	while ((r = rec_jnl_next(&it, &rec)) == 1) {
		size_t size = rec_jnl_record_size(rec.len);
		if (rec.off != it.off - size || rec.off % REC_JNL_ALIGN != off % REC_JNL_ALIGN ||
		    it.off > len || rec.data != buf + rec.off + REC_JNL_REC_HDR_LEN ||
		    rec.len > REC_JNL_MAX_BODY || rec.seq != seq++)
			__builtin_trap();
		for (size_t i = 0; i < rec.len; i++)
			sink ^= rec.data[i];

		/* A record the writer can express comes back byte for byte (the padding is covered
		 * by the CRC, so only zero padding can match). */
		int w = rec_jnl_record_write(scratch, sizeof(scratch), &rec);
		if (rec.type == 0 || rec.type > REC_JNL_T_MAX || (rec.flags & ~REC_JNL_F_ALL)) {
			if (w != -EINVAL)
				__builtin_trap();
		} else if (w != (int)size) {
			__builtin_trap();
		} else {
			size_t body_end = REC_JNL_REC_HDR_LEN + rec.len;
			bool zero_pad = true;
			for (size_t i = body_end; i < size; i++)
				zero_pad &= buf[rec.off + i] == 0;
			if (memcmp(scratch, buf + rec.off, zero_pad ? size : 4) != 0 ||
			    memcmp(scratch + 8, buf + rec.off + 8, body_end - 8) != 0)
				__builtin_trap();
		}

		for (int e = 0; e < 2; e++) {
			int n = rec_pcap_record_write(scratch, sizeof(scratch), &ends[e], &rec);
			size_t want = REC_PCAP_REC_HDR_LEN + (e ? 40 : 20) + 8 + rec.len;
			bool pkt = rec.type == REC_JNL_T_RTP || rec.type == REC_JNL_T_RTCP;
			bool fits = 8 + rec.len <= 0xffff && (e || 28 + rec.len <= 0xffff);
			if (n != (!pkt ? 0 : fits ? (int)want : -EMSGSIZE))
				__builtin_trap();
		}
	}
	if (r != 0 && r != -EAGAIN && r != -EMSGSIZE && r != -EBADMSG && r != -EILSEQ)
		__builtin_trap();
	if (it.off > len || it.off < off || (it.off - off) % REC_JNL_ALIGN)
		__builtin_trap();
	/* Stopping is sticky. */
	size_t stop = it.off;
	if (rec_jnl_next(&it, &rec) != r || it.off != stop)
		__builtin_trap();
	*cut = stop;
	*next_seq = seq;
	(void)sink;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_jnl_info info;
	size_t cut;
	uint32_t seq;

	/* Records alone, numbered from whatever the first one says, so that coverage of the
	 * record scanner does not depend on the fuzzer forging a header CRC. */
	if (size >= 16) {
		uint32_t first = (uint32_t)data[12] | (uint32_t)data[13] << 8 |
		                 (uint32_t)data[14] << 16 | (uint32_t)data[15] << 24;
		scan(data, size, 0, first, &cut, &seq);
	}

	int hlen = rec_jnl_header_parse(data, size, &info);
	uint32_t next_seq = 12345;
	ssize_t rl = rec_jnl_recover_len(data, size, &next_seq);
	if (hlen < 0) {
		if (hlen != -EAGAIN && hlen != -EPROTO && hlen != -EPROTONOSUPPORT &&
		    hlen != -EMSGSIZE && hlen != -EBADMSG && hlen != -ENAMETOOLONG)
			__builtin_trap();
		if (rl != (hlen == -EAGAIN ? 0 : hlen) || next_seq != 0)
			__builtin_trap();
		return 0;
	}
	if (hlen < REC_JNL_HDR_LEN || hlen > REC_JNL_HDR_MAX || hlen % REC_JNL_ALIGN ||
	    (size_t)hlen > size || info.header_len != hlen || info.version != REC_JNL_VERSION ||
	    strnlen(info.codec, REC_JNL_CODEC_LEN) == REC_JNL_CODEC_LEN ||
	    strnlen(info.stream, REC_JNL_STREAM_LEN) == REC_JNL_STREAM_LEN)
		__builtin_trap();

	int r = scan(data, size, (size_t)hlen, 0, &cut, &seq);
	if (r == 0 || r == -EAGAIN) {
		/* The cut point is on the record grid, inside the file, and cutting there leaves a
		 * clean journal with the same records. */
		if (rl != (ssize_t)cut || (size_t)rl > size || next_seq != seq)
			__builtin_trap();
		uint32_t again = 0;
		if (rec_jnl_recover_len(data, (size_t)rl, &again) != rl || again != seq)
			__builtin_trap();
		if (r == 0 && cut != size)
			__builtin_trap();
	} else if (rl != r) {
		__builtin_trap();
	}

	/* Export: every packet record fits in 24 + 64 + len bytes, records are at least 32. */
	if (24 + 3 * size <= sizeof(pcap)) {
		size_t npkts = 0;
		ssize_t n = rec_jnl_export_pcap(data, size, &ends[0], 0, UINT64_MAX, pcap,
		                                sizeof(pcap), &npkts);
		if (r == 0 || r == -EAGAIN) {
			if (n < REC_PCAP_FILE_HDR_LEN && n != -EMSGSIZE)
				__builtin_trap();
		} else if (n != r) {
			__builtin_trap();
		}
	}
	return 0;
}
