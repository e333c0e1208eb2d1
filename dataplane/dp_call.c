/* A control-thread call into a thread fed by an rte_ring (see dp.h: dp_ring_call). */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp.h"

int dp_ring_call(struct rte_ring *ring, void *item, unsigned esize, atomic_bool *done,
                 unsigned wait_ms, const char *who, char *err, size_t errlen)
{
	struct timespec tick = {.tv_nsec = 1000000};

	/* The ring is shared with the dataplane: wait for room rather than drop an operation. */
	for (unsigned i = 0; rte_ring_enqueue_elem(ring, item, esize); i++) {
		if (i == wait_ms) {
			snprintf(err, errlen, "%s: its ring stays full", who);
			return -EBUSY;
		}
		nanosleep(&tick, NULL);
	}
	for (unsigned i = 0; !atomic_load_explicit(done, memory_order_acquire); i++) {
		if (i == wait_ms) {
			snprintf(err, errlen, "%s did not answer within %u s", who, wait_ms / 1000);
			return -ETIMEDOUT;
		}
		nanosleep(&tick, NULL);
	}
	return 0;
}
