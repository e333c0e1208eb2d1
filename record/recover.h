/* Recovery at start-up: the unfinished (.part) journal chunks and MPEG-TS segments a crash left
 * in a stream directory are cut at their torn tails, made durable and named final. */
#ifndef CAAS_RECORD_RECOVER_H
#define CAAS_RECORD_RECOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What is done to each DIR/STREAM/NAME.part, by its final name NAME (others are left alone):
 *
 * NAME.jnl   cut at rec_jnl_recover_len(). A journal that is corrupt in the middle, or whose
 *            header is unreadable (not a journal, unknown version, bad CRC), is not cut: it is
 *            kept byte for byte, named final, and the note says why ("corrupt at offset N ...:
 *            kept as is"). The bytes after the damage are still evidence.
 * NAME.ts    cut after the last whole 188-byte packet of the unbroken run of 0x47-synced
 *            packets from the start, when what follows that run is a torn tail: fewer than 188
 *            bytes, or nothing but zeros (O_DIRECT padding, unwritten pages). With zeros after
 *            the run, a last packet of the run whose own bytes end in zeros is taken for a
 *            packet torn into the padding and cut too (a whole packet whose last byte is 0x00
 *            followed by padding would be lost; TS packets normally end in payload). Then, so
 *            that players see whole frames only, the cut moves back to the first packet of the
 *            earliest PES (frame) still unfinished: one whose declared length is not all there,
 *            or the last one of a video stream, which declares none and so cannot be known to
 *            be whole (a torn file loses its last frame even when it happened to be complete;
 *            the journal keeps every packet). Anything else after the run (at least a packet's
 *            worth of bytes, not all zero), or a file not starting with 0x47, is damage or not
 *            MPEG-TS: kept as is, as above. A file that ends exactly after a whole packet is
 *            "intact" and kept whole.
 *
 * A file that is empty, or holds nothing that was recorded (only zeros; a journal torn inside
 * its header), is removed and NOT reported through the callback: there is no file left for a
 * manifest entry to describe, and nothing of evidence was lost.
 *
 * Every other file is fsynced (cut or not: a process crash can leave its last writes in the
 * page cache only), renamed to NAME without replacing anything (renameat2 RENAME_NOREPLACE, or
 * link + unlink where the file system lacks it); when NAME exists, it becomes
 * NAME.recovered-N, the first free N from 1, and the note says so. Then the directory is
 * fsynced and only then the callback is called, so a manifest entry never describes a file
 * whose name could still be lost.
 *
 * Order: by name with the extension removed (STREAM-NNNNNN, so chunk order), the journal before
 * the segment of the same chunk. A segment takes its times from the journal chunk of the same
 * number: the one recovered just before it in this call, else the sealed NAME.jnl on disk.
 */

/* One recovered file, given to the callback so the caller appends a "recovered" manifest entry. */
struct rec_recovered {
	char file[256];     /* final name, relative to the stream dir (no .part) */
	bool journal;       /* .jnl, else .ts */
	uint64_t size;      /* after the cut */
	uint64_t cut_bytes; /* bytes removed from the end */
	char sha256[65];    /* of the file as it now is */
	/* First and last RTP record of the journal (see rec_journal_times()); for a segment, those
	 * of its chunk's journal; 0 when there is none (the note then says so). */
	int64_t start_wall_ns, end_wall_ns;
	uint64_t start_rtp, end_rtp;
	/* "intact", "torn tail of 1316 bytes cut" ("zero tail ..." when the cut bytes are all
	 * zero), "corrupt at offset 4096 (CRC mismatch): kept as is", "header unreadable (...):
	 * kept as is", "sync lost at offset ...: kept as is", then as they apply "; no RTP records"
	 * (a journal), "; no journal for times" or "; no RTP times in its journal" (a segment),
	 * "; final name existed: saved as NAME.recovered-1" */
	char note[160];
};

/* Called once per recovered file, after it is durable under its final name. A negative return
 * stops recovery and is returned by rec_recover_dir(). */
typedef int (*rec_recover_cb)(void *arg, const struct rec_recovered *r);

/*
 * Recover every *.jnl.part and *.ts.part in the stream directory dir_fd as described above
 * (cb may be NULL). Returns the number of files recovered (reported through cb), or a
 * negative errno with err saying what failed (which file, which step). It stops at the first
 * failure: files already reported stay recovered, the rest stay .part for the next attempt.
 * Blocking I/O; run it once at start-up, before anything writes to the directory.
 */
int rec_recover_dir(int dir_fd, rec_recover_cb cb, void *arg, char *err, size_t errlen);

/*
 * Times of the journal file buf[0..len): the arrival time (t_real_ns) and RTP timestamp
 * (bytes 4..7 of the RTP header, big-endian) of the first and the last REC_JNL_T_RTP record.
 * RTCP and markers are skipped, and so are RTP records flagged REC_JNL_F_TO_CAMERA (talk-back
 * has its own RTP clock) or with a body shorter than an RTP header (12 bytes). The scan stops
 * quietly at a torn tail or at damage; the times are those of the records before it.
 * Returns 0, -ENODATA when there is no such record (every output set to 0), or the error of
 * rec_jnl_header_parse().
 */
int rec_journal_times(const uint8_t *buf, size_t len, int64_t *start_wall, int64_t *end_wall,
                      uint64_t *start_rtp, uint64_t *end_rtp);

#endif
