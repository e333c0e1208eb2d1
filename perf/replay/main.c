/* caas-replay: replay camera load against the appliance (send) and measure what experts get
 * (recv). */
#include <stdio.h>
#include <string.h>

#include "replay.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: caas-replay send --to IP:PORT --input FILE [options]   (send --help)\n"
		   "       caas-replay recv --listen IP:PORT [options]          (recv --help)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "send"))
		return replay_send_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recv"))
		return replay_recv_main(argc - 1, argv + 1);
	fprintf(stderr, "caas-replay: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
