/* The Prometheus endpoint (placeholder until the full page lands): see control.h. */
#include "control.h"
#include "mgmt/metrics.h"

static int fill(void *arg, struct mg_metrics_buf *b)
{
	struct control *c = arg;
	mg_metrics_family(b, "caas_up", MG_METRIC_GAUGE, "1 while caasd runs");
	mg_metrics_gauge(b, NULL, 0, c ? 1 : 0);
	return b->err;
}

int ctl_metrics_start(struct control *c, char *err, size_t errlen)
{
	return mg_metrics_start(&c->metrics, c->cfg->metrics, fill, c, err, errlen);
}

void ctl_metrics_stop(struct control *c)
{
	mg_metrics_stop(c->metrics);
	c->metrics = NULL;
}
