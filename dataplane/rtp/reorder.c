/* The reorder buffer (see reorder.h): slot seq % RTP_REORDER_MAX holds packet seq. */
#include <errno.h>
#include <string.h>

#include "rtp/reorder.h"

#define MASK (RTP_REORDER_MAX - 1)

void rtp_reorder_init(struct rtp_reorder *r, uint64_t wait_ns)
{
	memset(r, 0, sizeof(*r));
	r->wait_ns = wait_ns;
}

int rtp_reorder_push(struct rtp_reorder *r, uint16_t seq, void *pkt, uint64_t aux, uint64_t now_ns)
{
	struct rtp_reorder_slot *s;
	int16_t ahead;

	if (!r->started) {
		r->started = true;
		r->next = r->top = seq;
	}
	ahead = (int16_t)(uint16_t)(seq - r->next);
	if (ahead >= RTP_REORDER_MAX || ahead <= -RTP_REORDER_MAX) {
		r->stats.restarts++;
		return -ERANGE;
	}
	if (ahead < 0) {
		r->stats.late++;
		return -EALREADY;
	}
	s = &r->slot[seq & MASK];
	if (s->pkt) {
		r->stats.duplicates++;
		return -EALREADY;
	}
	*s = (struct rtp_reorder_slot){.pkt = pkt, .aux = aux, .t_ns = now_ns};
	r->count++;
	if ((int16_t)(uint16_t)(seq - r->top) < 0)
		r->stats.reordered++; /* a later one came first */
	else
		r->top = seq;
	return 0;
}

static void *take(struct rtp_reorder *r, uint16_t *seq, uint64_t *aux, uint64_t *t_ns)
{
	struct rtp_reorder_slot *s = &r->slot[r->next & MASK];
	void *pkt = s->pkt;

	*seq = r->next;
	*aux = s->aux;
	*t_ns = s->t_ns;
	s->pkt = NULL;
	r->count--;
	r->next++;
	return pkt;
}

void *rtp_reorder_pop(struct rtp_reorder *r, uint64_t now_ns, uint16_t *seq, uint64_t *aux,
                      uint64_t *t_ns)
{
	uint16_t gap;

	if (!r->count)
		return NULL;
	if (r->slot[r->next & MASK].pkt)
		return take(r, seq, aux, t_ns);
	/* A hole: the first packet held behind it says how long it has been waited for. */
	for (gap = 1; gap < RTP_REORDER_MAX; gap++)
		if (r->slot[(uint16_t)(r->next + gap) & MASK].pkt)
			break;
	const struct rtp_reorder_slot *after = &r->slot[(uint16_t)(r->next + gap) & MASK];
	if (now_ns - after->t_ns < r->wait_ns && r->count < RTP_REORDER_MAX / 2)
		return NULL;
	r->stats.lost += gap;
	r->next = (uint16_t)(r->next + gap);
	return take(r, seq, aux, t_ns);
}

void *rtp_reorder_flush(struct rtp_reorder *r, uint16_t *seq, uint64_t *aux, uint64_t *t_ns)
{
	if (!r->count) {
		r->started = false;
		return NULL;
	}
	while (!r->slot[r->next & MASK].pkt) {
		r->next++;
		r->stats.lost++;
	}
	return take(r, seq, aux, t_ns);
}
