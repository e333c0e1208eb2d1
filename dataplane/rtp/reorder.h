/* A reorder buffer for a consumer that must see RTP packets in sequence order (a depacketizer in
 * front of a decoder) while they arrive in any order: reordered by the network, or late because
 * they were retransmitted after a NACK. Packets go out in sequence order; a missing one is
 * waited for at most wait_ns after the first packet behind it arrived, then given up (the
 * consumer sees the gap). Holds opaque packets (the caller owns them: what push refuses and what
 * pop returns are the caller's to free). No allocation, no clock of its own. */
#ifndef CAAS_RTP_REORDER_H
#define CAAS_RTP_REORDER_H

#include <stdbool.h>
#include <stdint.h>

#define RTP_REORDER_MAX 512 /* packets held at most; a power of two */

struct rtp_reorder_slot {
	void *pkt; /* NULL: empty */
	uint64_t aux;
	uint64_t t_ns; /* when it was pushed */
};

struct rtp_reorder_stats {
	uint64_t reordered; /* came after a later packet, and went out in its place */
	uint64_t lost;      /* sequence numbers given up */
	uint64_t late;      /* came after its place had been given up (refused) */
	uint64_t duplicates;
	uint64_t restarts; /* jumps too far to wait across: everything held went out first */
};

struct rtp_reorder {
	uint64_t wait_ns;
	bool started;
	uint16_t next;  /* the sequence number due out */
	uint16_t top;   /* the highest sequence number taken */
	uint16_t count; /* packets held */
	struct rtp_reorder_slot slot[RTP_REORDER_MAX];
	struct rtp_reorder_stats stats;
};

void rtp_reorder_init(struct rtp_reorder *r, uint64_t wait_ns);

/*
 * Take packet seq (arrived at now_ns). Returns 0 when it is held; -EALREADY for a duplicate or a
 * packet whose place was already given up or passed (not taken: the caller frees it); -ERANGE
 * for a jump of RTP_REORDER_MAX or more either way (a new numbering): not taken; the caller
 * takes what is held with rtp_reorder_flush() and pushes it again.
 */
int rtp_reorder_push(struct rtp_reorder *r, uint16_t seq, void *pkt, uint64_t aux, uint64_t now_ns);

/* The next packet due, or NULL while the next one is missing and still waited for. Holes are
 * given up when the packet after them has waited wait_ns, or the buffer is full. seq, aux and
 * the push time come back with it. */
void *rtp_reorder_pop(struct rtp_reorder *r, uint64_t now_ns, uint16_t *seq, uint64_t *aux,
                      uint64_t *t_ns);

/* Everything held, in sequence order, holes skipped: one per call, NULL when empty; then the
 * buffer starts again at the next packet pushed. */
void *rtp_reorder_flush(struct rtp_reorder *r, uint16_t *seq, uint64_t *aux, uint64_t *t_ns);

#endif
