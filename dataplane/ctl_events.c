/* caasd's events: what changed, as JSON objects with a sequence number and a time, kept in a
 * bounded ring on the control thread and read with `caasctl events [--since N] [--follow]`.
 * Sources: help requests (ctl_help.c), and a once-a-second look at what the dataplane and the
 * recorder counted (stream up/idle/down, recent loss above [mgmt] loss_event_pct and back,
 * chunks sealed, recorder alarms on and off). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "dp_record.h"
#include "mgmt/err.h"
#include "rtp/rtp_stats.h"

#define RING        1024
#define PER_REQUEST 256 /* events one answer carries at most */

struct ctl_events {
	json_t *ring[RING];
	uint64_t next; /* sequence number of the next event; ring[seq % RING] */
	uint64_t last_ns;
	bool disk, io;
};

static struct ctl_events *E(struct control *c)
{
	return c->events;
}

void ctl_event(struct control *c, const char *type, json_t *fields)
{
	struct ctl_events *e = E(c);
	struct timespec ts;
	char when[40];
	struct tm tm;

	if (!e) {
		json_decref(fields);
		return;
	}
	if (!fields)
		fields = json_object();
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_set_new(fields, "seq", json_integer((json_int_t)e->next));
	json_object_set_new(fields, "time", json_string(when));
	json_object_set_new(fields, "type", json_string(type));
	json_decref(e->ring[e->next % RING]);
	e->ring[e->next % RING] = fields;
	e->next++;
}

/* What the counters say changed since the last look. */
void ctl_events_tick(struct control *c)
{
	struct ctl_events *e = E(c);
	uint64_t now = dp_mono_ns();

	if (!e || now - e->last_ns < 1000 * DP_MS)
		return;
	e->last_ns = now;
	for (uint32_t i = 0; i < c->n_devs; i++) {
		struct dp_dev *dev = c->devs[i];
		const char *state = ctl_stream_state(c, dev);
		struct rtp_rx_snapshot snap;
		double loss;
		bool high;

		if (strcmp(state, dev->ctl_state[0] ? dev->ctl_state : "down")) {
			ctl_event(c, "stream_state",
			          json_pack("{s:s, s:s, s:s}", "device", dev->name, "from",
			                    dev->ctl_state[0] ? dev->ctl_state : "down", "to",
			                    state));
		}
		snprintf(dev->ctl_state, sizeof(dev->ctl_state), "%s", state);

		rtp_rx_snapshot(&dev->st.rx, &snap);
		loss = snap.recent_loss_permille / 10.0;
		high = !strcmp(state, "up") && loss >= c->cfg->loss_event_pct;
		if (high != dev->ctl_loss_high)
			ctl_event(c, high ? "loss_high" : "loss_normal",
			          json_pack("{s:s, s:f, s:i}", "device", dev->name, "loss_pct",
			                    loss, "threshold_pct", c->cfg->loss_event_pct));
		dev->ctl_loss_high = high;

		if (dev->rec && dev->rec->rs) {
			uint64_t sealed = rec_stream_stats(dev->rec->rs)->chunks;
			if (sealed > dev->ctl_sealed)
				ctl_event(c, "record_sealed",
				          json_pack("{s:s, s:I, s:I}", "device", dev->name,
				                    "sealed", (json_int_t)sealed, "chunk",
				                    (json_int_t)rec_stream_chunk(dev->rec->rs)));
			dev->ctl_sealed = sealed;
		}
	}
	if (c->rec) {
		const struct rec_stats *r = dp_recorder_stats(c->rec);
		bool io = r->alarm_io || c->dp->stats.drop_rec_full;
		if (r->alarm_disk != e->disk || io != e->io)
			ctl_event(c, "record_alarm",
			          json_pack("{s:b, s:b, s:s}", "disk", r->alarm_disk, "io", io,
			                    "last_error", r->last_error));
		e->disk = r->alarm_disk;
		e->io = io;
	}
}

static int cmd_events(struct control *c, const json_t *args, json_t **result, char *err, size_t len)
{
	struct ctl_events *e = E(c);
	json_t *since = json_object_get(args, "since"), *list = json_array();
	uint64_t from, oldest = e->next > RING ? e->next - RING : 0;
	(void)err, (void)len;

	/* Without --since: the last few, as a start. */
	from = since ? (uint64_t)json_integer_value(since) : (e->next > 20 ? e->next - 20 : 0);
	if (from < oldest)
		from = oldest;
	for (uint64_t s = from; s < e->next && json_array_size(list) < PER_REQUEST; s++)
		json_array_append(list, e->ring[s % RING]);
	*result = json_pack("{s:o, s:I, s:I}", "events", list, "next",
	                    (json_int_t)(from + json_array_size(list)), "lost",
	                    (json_int_t)(since && (uint64_t)json_integer_value(since) < oldest
	                                     ? oldest - (uint64_t)json_integer_value(since)
	                                     : 0));
	return 0;
}

const struct ctl_command ctl_event_commands[] = {{"events", cmd_events}};
const size_t ctl_event_ncommands = 1;

int ctl_events_init(struct control *c, char *err, size_t errlen)
{
	c->events = calloc(1, sizeof(struct ctl_events));
	if (!c->events)
		return mg_errf(-ENOMEM, err, errlen, "out of memory for events");
	return 0;
}

void ctl_events_close(struct control *c)
{
	struct ctl_events *e = E(c);

	if (!e)
		return;
	for (size_t i = 0; i < RING; i++)
		json_decref(e->ring[i]);
	free(e);
	c->events = NULL;
}
