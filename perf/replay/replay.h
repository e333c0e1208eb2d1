/* caas-replay: what its sender and receiver share. */
#ifndef CAAS_REPLAY_H
#define CAAS_REPLAY_H

/* The send time travels in an RFC 8285 one-byte header extension element: 8 bytes, the
 * sender's CLOCK_MONOTONIC in nanoseconds, big-endian (one clock on one host: the lab). */
#define REPLAY_EXT_ID  7
#define REPLAY_EXT_LEN 8

/* Each stream i uses port BASE + 2*i for RTP and the port above for RTCP. */
#define REPLAY_PORT_STEP 2

int replay_send_main(int argc, char **argv); /* send.c */
int replay_recv_main(int argc, char **argv); /* recv.c */

#endif
