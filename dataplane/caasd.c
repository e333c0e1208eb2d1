/* caasd: the CAAS Edge appliance daemon. Reads its configuration, sets up DPDK (EAL, mempools,
 * the port and its queues), starts the dataplane lcore, runs the control thread on the main
 * lcore, and on SIGINT/SIGTERM stops everything cleanly. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "config.h"
#include "control.h"
#include "dp.h"
#include "mgmt/defaults.h"

static volatile bool quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = true;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: caasd [-c FILE] [--check]\n"
	        "  -c, --config FILE  configuration (default %s)\n"
	        "      --check        validate the configuration and exit\n"
	        "  -V, --version      print the version\n",
	        CAAS_DEFAULT_CONFIG);
}

static bool is_pci_address(const char *s)
{
	unsigned a, b, c, d;
	char tail;
	return sscanf(s, "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) == 4 ||
	       sscanf(s, "%x:%x.%x%c", &b, &c, &d, &tail) == 3;
}

/* EAL arguments from the configuration: lcores, the port (PCI allow-list or vdev), and any
 * extra arguments the operator gave. --in-memory: no hugepage files left behind. */
static int eal_setup(const struct caas_config *cfg, const char *prog)
{
	static char buf[sizeof(cfg->eal_args)];
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)prog;
	argv[argc++] = "-l";
	argv[argc++] = (char *)cfg->lcores;
	argv[argc++] = "--in-memory";
	argv[argc++] = "--log-level=lib.eal:error";
	argv[argc++] = "--log-level=lib.telemetry:error";
	if (is_pci_address(cfg->port)) {
		argv[argc++] = "-a";
		argv[argc++] = (char *)cfg->port;
	} else {
		argv[argc++] = "--no-pci";
		argv[argc++] = "--vdev";
		argv[argc++] = (char *)cfg->port;
	}
	snprintf(buf, sizeof(buf), "%s", cfg->eal_args);
	char *save = NULL;
	for (char *t = strtok_r(buf, " \t", &save); t && argc < 63;
	     t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'k'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CAAS_DEFAULT_CONFIG;
	bool check = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'V':
			printf("caasd %s\n", MG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	static struct caas_config cfg;
	char err[512];
	caas_config_defaults(&cfg);
	if (caas_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "caasd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("caasd: %s: configuration is valid\n", path);
		return 0;
	}

	if (eal_setup(&cfg, argv[0]) < 0) {
		fprintf(stderr, "caasd: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	static struct dp_ctx dp;
	dp.cfg = &cfg;
	dp.quit = &quit;
	dp.idle_sleep_us = cfg.idle_sleep_us;
	unsigned worker = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	int rc = -EINVAL;
	if (worker >= RTE_MAX_LCORE) {
		snprintf(err, sizeof(err),
		         "[dataplane] lcores %s: need two lcores (control and "
		         "dataplane)",
		         cfg.lcores);
		goto fail;
	}
	if (rte_eth_dev_count_avail() != 1) {
		snprintf(err, sizeof(err), "[dataplane] port %s: %u ports found, want 1", cfg.port,
		         rte_eth_dev_count_avail());
		goto fail;
	}
	uint16_t pid = 0;
	RTE_ETH_FOREACH_DEV(pid) break;
	if ((rc = dp_port_setup(&dp, &cfg, pid, err, sizeof(err))) < 0)
		goto fail;

	/* The control socket's directory, as systemd's RuntimeDirectory would make it. */
	char dir[sizeof(cfg.socket)];
	snprintf(dir, sizeof(dir), "%s", cfg.socket);
	mkdir(dirname(dir), 0750);

	static struct control ctl;
	if ((rc = control_init(&ctl, &cfg, &dp, err, sizeof(err))) < 0)
		goto fail;
	ctl.control_lcore = rte_get_main_lcore();
	ctl.config_path = path;
	ctl.dataplane_lcore = worker;

	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &dp.mac);
	printf("caasd %s: port %s (%s), dataplane on lcore %u, %s fan-out, control socket %s\n",
	       MG_VERSION, cfg.port, mac, worker,
	       dp.multiseg_tx && cfg.zero_copy ? "zero-copy" : "copying", cfg.socket);
	fflush(stdout);

	rte_eal_remote_launch(dp_main, &dp, worker);
	control_run(&ctl, &quit);
	rte_eal_mp_wait_lcore();

	control_close(&ctl);
	rte_eth_dev_stop(dp.port_id);
	rte_eth_dev_close(dp.port_id);
	rte_eal_cleanup();
	printf("caasd: stopped\n");
	return 0;
fail:
	fprintf(stderr, "caasd: %s\n", err);
	rte_eal_cleanup();
	return 1;
}
