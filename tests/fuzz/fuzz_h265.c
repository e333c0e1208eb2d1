/* libFuzzer target: the H.265 RTP depacketizer (RFC 7798) and its round trip; the same target
 * and input format as fuzz_h264.c. */
#define FUZZ_CODEC H26X_H265
#include "fuzz_h264.c"
