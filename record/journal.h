/* The per-stream journal format: the lossless, append-only log of every RTP/RTCP packet as
 * received, its torn-tail recovery, CRC32C, and export to pcap. Pure code on caller buffers. */
#ifndef CAAS_RECORD_JOURNAL_H
#define CAAS_RECORD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Byte layout, version 1. Every integer is little-endian (the byte order of every host we ship
 * on, so a reader on the box is a plain load; these functions work on any host).
 *
 * File header, REC_JNL_HDR_LEN (128) bytes at offset 0:
 *     0   8  magic "CAASJRNL"
 *     8   2  version, REC_JNL_VERSION; a reader refuses a version it does not know
 *    10   2  header_len: where the first record starts; a multiple of 8 in [128, 4096], so a
 *            later version can append header fields that an older reader skips
 *    12   4  reserved, 0
 *    16   8  journal id: 64 random bits from the writer, so files can be matched to the
 *            evidence manifest even after they are renamed
 *    24   8  creation time, CLOCK_REALTIME ns since the epoch
 *    32   4  RTP clock rate (Hz)
 *    36   1  RTP payload type (0..127)
 *    37   1  media, REC_JNL_MEDIA_*
 *    38   2  reserved, 0
 *    40  16  codec name (e.g. "H264", "opus"), NUL-padded, at least one NUL
 *    56  64  stream name, NUL-padded, at least one NUL
 *   120   4  reserved, 0
 *   124   4  CRC32C of bytes [0, header_len - 4): the last 4 bytes of the header
 *
 * Records follow back to back from header_len to the end of the file, each at an offset that
 * is a multiple of 8 (so O_DIRECT-aligned chunks of a journal stay record-aligned):
 *     0   4  body_len, 0..REC_JNL_MAX_BODY
 *     4   4  CRC32C over bytes [0, 4) then [8, size): every byte of the record but this field,
 *            including the padding
 *     8   1  type, REC_JNL_T_*
 *     9   1  flags, REC_JNL_F_*
 *    10   2  ~body_len (low 16 bits): a bit flip in the length is caught before the length
 *            is trusted, so it cannot pass for a torn tail and cut away the rest of the file
 *    12   4  seq: 0 for the first record of the file, then +1 each record (mod 2^32). Every
 *            record carries its own CRC, so without it a whole record cut out of the middle,
 *            or records spliced in from another journal, would still scan clean.
 *    16   8  arrival time, CLOCK_REALTIME ns
 *    24   8  arrival time, CLOCK_MONOTONIC ns (for intervals; wall clock may step)
 *    32   n  body: the packet as received (RTP or RTCP: the UDP payload), or a marker's body
 *  32+n   p  zero padding to the next multiple of 8; size = rec_jnl_record_size(n)
 *
 * Marker bodies: REC_JNL_T_GAP holds a u64 count of packets the recorder did not journal (its
 * ring was full); the others hold optional UTF-8 text.
 *
 * Reading. A crash can leave the file shorter than the last record, or with its unwritten part
 * reading as zeros (preallocated space, a partially written O_DIRECT block). That is a torn
 * tail, expected and cut. Bytes that are present, non-zero and wrong are corruption. A bad last
 * record followed by nothing but zeros cannot be told apart from a torn write; it counts as torn.
 */

#define REC_JNL_MAGIC       "CAASJRNL"
#define REC_JNL_MAGIC_LEN   8
#define REC_JNL_VERSION     1
#define REC_JNL_HDR_LEN     128
#define REC_JNL_HDR_MAX     4096
#define REC_JNL_CODEC_LEN   16
#define REC_JNL_STREAM_LEN  64
#define REC_JNL_REC_HDR_LEN 32
#define REC_JNL_ALIGN       8
#define REC_JNL_MAX_BODY    65535 /* a UDP payload always fits */
#define REC_JNL_MAX_RECORD  65568 /* rec_jnl_record_size(REC_JNL_MAX_BODY) */

/* Record types. 0 is never written, so zeroed space is never a valid record. */
#define REC_JNL_T_RTP       1
#define REC_JNL_T_RTCP      2
#define REC_JNL_T_START     3 /* recording started */
#define REC_JNL_T_STOP      4 /* recording stopped */
#define REC_JNL_T_GAP       5 /* packets were lost before this point; body: u64 count */
#define REC_JNL_T_RECOVERED 6 /* appended after a crashed file was cut at a torn tail */
#define REC_JNL_T_NOTE      7 /* operator or system annotation */
#define REC_JNL_T_MAX       7

/* Record flags. */
#define REC_JNL_F_TO_CAMERA 0x01 /* sent to the camera (talk-back, RTCP feedback); else from it */
#define REC_JNL_F_GTPU      0x02 /* arrived inside GTP-U on N3; the body is the inner payload */
#define REC_JNL_F_SRTP      0x04 /* the body is still SRTP/SRTCP protected */
#define REC_JNL_F_ALL       0x07

#define REC_JNL_MEDIA_UNKNOWN 0
#define REC_JNL_MEDIA_VIDEO   1
#define REC_JNL_MEDIA_AUDIO   2

/* --- CRC32C (Castagnoli, reflected 0x82f63b78, as in iSCSI, ext4 and SCTP) ---------------------
 */

/*
 * CRC32C of buf, continuing from crc (0 to start; the previous result to chain pieces), so
 * rec_crc32c(0, "123456789", 9) == 0xe3069283. Uses the SSE4.2 crc32 instruction when the CPU
 * has it, else a table. The two named variants are for tests and benchmarks;
 * rec_crc32c_hw() may only be called when rec_crc32c_hw_available().
 */
uint32_t rec_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t rec_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t rec_crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool rec_crc32c_hw_available(void);

/* --- writing -----------------------------------------------------------------------------------
 */

/* What the file header says. header_parse() fills every field. */
struct rec_jnl_info {
	uint16_t version;
	uint16_t header_len;
	uint64_t journal_id; /* the caller draws it (getrandom); this library makes no syscall */
	uint64_t created_ns;
	uint32_t clock_rate;
	uint8_t payload_type;
	uint8_t media;
	char codec[REC_JNL_CODEC_LEN];   /* NUL-terminated */
	char stream[REC_JNL_STREAM_LEN]; /* NUL-terminated */
};

/*
 * Write a version-1 file header for info (version and header_len are ignored). Returns
 * REC_JNL_HDR_LEN, or:
 *   -EINVAL        payload_type > 127 or media unknown
 *   -ENAMETOOLONG  codec or stream has no NUL within its field
 *   -ENOSPC        cap < REC_JNL_HDR_LEN
 */
int rec_jnl_header_write(uint8_t *buf, size_t cap, const struct rec_jnl_info *info);

/* Bytes a record with a body of len bytes takes, padding included. */
static inline size_t rec_jnl_record_size(size_t len)
{
	return (REC_JNL_REC_HDR_LEN + len + REC_JNL_ALIGN - 1) & ~(size_t)(REC_JNL_ALIGN - 1);
}

/* One record. The writer reads every field but off; the reader fills every field, with data
 * pointing into the scanned buffer. */
struct rec_jnl_rec {
	uint8_t type; /* REC_JNL_T_*; readers skip types they do not know */
	uint8_t flags;
	uint32_t seq;
	uint64_t t_real_ns;
	uint64_t t_mono_ns;
	const uint8_t *data;
	uint32_t len;
	size_t off; /* where the record starts in the scanned buffer */
};

/*
 * Write rec as one record, copying rec->data[0..len). Per-packet safe: no allocation, no
 * syscall. The caller numbers records (see seq above). Returns rec_jnl_record_size(len), or:
 *   -EINVAL    type is not a REC_JNL_T_* or flags has bits outside REC_JNL_F_ALL
 *   -EMSGSIZE  len > REC_JNL_MAX_BODY
 *   -ENOSPC    cap < rec_jnl_record_size(len); nothing is written
 */
int rec_jnl_record_write(uint8_t *buf, size_t cap, const struct rec_jnl_rec *rec);

/* --- reading -----------------------------------------------------------------------------------
 */

/*
 * Parse and check the file header at the start of buf[0..len). Returns header_len (the offset
 * of the first record), or:
 *   -EAGAIN           buf ends inside the header and what is there could be its start (a file
 *                     torn at creation: its first bytes are a prefix of the magic, or zeros)
 *   -EPROTO           not a journal: the magic is wrong
 *   -EPROTONOSUPPORT  a version this reader does not know
 *   -EMSGSIZE         header_len is not a multiple of 8 in [128, 4096]
 *   -EBADMSG          CRC mismatch
 *   -ENAMETOOLONG     codec or stream name is not NUL-terminated in its field
 */
int rec_jnl_header_parse(const uint8_t *buf, size_t len, struct rec_jnl_info *info);

/* A scan over buf[0..len) starting at a record boundary (header_len for a whole file). off is
 * the end of the last good record: the "cut here" point once rec_jnl_next() stops. seq is the
 * number the next record must carry. */
struct rec_jnl_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;
	uint32_t seq;
};

/* Start at off, expecting a record numbered seq there (header_len and 0 for a whole file). */
static inline void rec_jnl_iter_init(struct rec_jnl_iter *it, const uint8_t *buf, size_t len,
                                     size_t off, uint32_t seq)
{
	it->buf = buf;
	it->len = len;
	it->off = off < len ? off : len;
	it->seq = seq;
}

/*
 * Return the next record in rec and 1; 0 at a clean end (the buffer ends exactly after a
 * record). Otherwise it stops, leaves it->off at the start of the offending record (the end of
 * the last good one, always on the 8-byte grid of the start offset) and returns, again on every
 * later call:
 *   -EAGAIN    torn tail: the buffer ends inside the record, or the record is bad and nothing
 *              but zeros follows it. Expected after a crash; also what a reader following a
 *              live journal sees before the rest arrives.
 *   -EMSGSIZE  corruption: the length field fails its check or exceeds REC_JNL_MAX_BODY, and
 *              non-zero bytes follow from its check field on
 *   -EBADMSG   corruption: CRC mismatch, and non-zero bytes follow the record
 *   -EILSEQ    a sound record with the wrong seq: records were removed, repeated or spliced
 * Never reads outside buf[0..len).
 */
int rec_jnl_next(struct rec_jnl_iter *it, struct rec_jnl_rec *rec);

/*
 * The length to truncate a crashed journal file (buf[0..len), the whole file) to: the end of
 * its last whole record, or 0 when the file was torn inside its header (nothing was recorded).
 * *next_seq, when not NULL, gets the seq for the record to append next (REC_JNL_T_RECOVERED).
 * Returns a negative errno, from rec_jnl_header_parse() or rec_jnl_next(), when the file is not
 * a journal or is corrupt in the middle: such a file must not be cut, since the bytes after the
 * damage are still evidence; start a new journal and keep this one for examination.
 */
ssize_t rec_jnl_recover_len(const uint8_t *buf, size_t len, uint32_t *next_seq);

/* --- export to pcap ----------------------------------------------------------------------------
 */

/*
 * Classic libpcap files with nanosecond timestamps (magic 0xa1b23c4d, little-endian) and
 * LINKTYPE_RAW (101): each RTP/RTCP record becomes an IPv4 or IPv6 packet with a synthetic UDP
 * header between the stream's addresses, so Wireshark and tcpdump decode it as RTP ("Decode
 * As" or its RTP heuristic) at its original arrival time. No Ethernet header: the journal has
 * no MAC addresses to invent. Marker records are not exported.
 */
#define REC_PCAP_FILE_HDR_LEN 24
#define REC_PCAP_REC_HDR_LEN  16
#define REC_PCAP_LINKTYPE_RAW 101
#define REC_PCAP_SNAPLEN      262144

/* The stream's addresses, network byte order (IPv4 in the first 4 bytes), and ports. Records
 * flagged REC_JNL_F_TO_CAMERA go from box to camera, the others from camera to box. */
struct rec_pcap_ends {
	uint8_t family; /* 4 or 6 */
	uint8_t cam_addr[16];
	uint8_t box_addr[16];
	uint16_t cam_rtp_port;
	uint16_t cam_rtcp_port; /* = rtp port with rtcp-mux */
	uint16_t box_rtp_port;
	uint16_t box_rtcp_port;
};

/* Write the pcap file header. Returns REC_PCAP_FILE_HDR_LEN or -ENOSPC. */
int rec_pcap_header_write(uint8_t *buf, size_t cap);

/*
 * Write rec as one pcap record: record header, IP, UDP (with its checksum), body. Returns the
 * bytes written, 0 for a record that is not exported (a marker), or:
 *   -EINVAL    ends->family is not 4 or 6
 *   -EMSGSIZE  the body does not fit in a UDP datagram
 *   -ENOSPC    cap too small; nothing is written
 */
int rec_pcap_record_write(uint8_t *buf, size_t cap, const struct rec_pcap_ends *ends,
                          const struct rec_jnl_rec *rec);

/*
 * Export a whole journal file buf[0..len) as a pcap into out[0..cap): the records with
 * from_ns <= arrival time (CLOCK_REALTIME) < to_ns. A torn tail ends the export quietly.
 * Returns the pcap's length, or a negative errno from rec_jnl_header_parse(), rec_jnl_next()
 * (corruption) or rec_pcap_record_write(). *npkts, when not NULL, gets the packet count.
 */
ssize_t rec_jnl_export_pcap(const uint8_t *buf, size_t len, const struct rec_pcap_ends *ends,
                            uint64_t from_ns, uint64_t to_ns, uint8_t *out, size_t cap,
                            size_t *npkts);

#endif
