#!/usr/bin/env bash
# `make demo`: what CAAS Edge does today, shown on real media. A camera (FFmpeg encoding a
# 720p30 test pattern with libx264 / libx265) streams RTP; our protocol library rebuilds the
# frames and libavcodec decodes them; then our packetizer streams the clip back to FFmpeg as an
# expert would receive it. Everything runs in a private network namespace on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
tool=$root/build/tests/rtp_interop
media=$root/build/demo-media
ns=caas-demo-$$
work=$(mktemp -d)
trap 'netns_down "$ns"; rm -rf "$work"' EXIT
field() { sed -n "s/^$1=//p" "$2"; }
inns() { ip netns exec "$ns" "$@"; }

netns_up "$ns"
status=0
printf '\n%-6s %-36s %8s %8s %8s %8s\n' codec path packets frames decoded errors
for codec in h264 h265; do
	clip=$media/camera-$codec.mp4
	make_clip "$codec" "$clip" 4
	frames=$(count_frames "$clip")

	# Camera -> appliance: FFmpeg's RTP muxer, parameter sets in band as cameras send them.
	bsf=${codec/h265/hevc}_mp4toannexb
	inns "$tool" recv --codec "$codec" --to 127.0.0.1:5004 --out "$work/$codec.annexb" \
		>"$work/recv.txt" 2>"$work/recv.err" &
	pid=$!
	wait_udp "$ns" 5004
	inns ffmpeg -nostdin -v error -re -i "$clip" -an -c copy -bsf:v "$bsf" -f rtp \
		-rtpflags send_bye -pkt_size 1200 rtp://127.0.0.1:5004 >/dev/null
	wait $pid
	dec=$(field frames_decoded "$work/recv.txt")
	err=$(field decode_errors "$work/recv.txt")
	printf '%-6s %-36s %8s %8s %8s %8s\n' "$codec" "camera (FFmpeg) -> CAAS depacketizer" \
		"$(field rtp_packets "$work/recv.txt")" "$frames" "$dec" "$err"
	[ "$dec" = "$frames" ] && [ "$err" = 0 ] || status=1

	# Appliance -> expert: our packetizer, FFmpeg's RTP demuxer and decoder at the far end.
	"$tool" sdp --codec "$codec" --input "$clip" --to 127.0.0.1:5006 >"$work/expert.sdp"
	inns ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp -buffer_size 16777216 \
		-i "$work/expert.sdp" -fps_mode passthrough -f framemd5 "$work/expert.md5" \
		2>"$work/expert.err" &
	pid=$!
	wait_udp "$ns" 5006
	inns "$tool" send --codec "$codec" --input "$clip" --to 127.0.0.1:5006 --speed 2 \
		>"$work/send.txt"
	wait $pid
	dec=$(grep -vc '^#' "$work/expert.md5" || true)
	err=$(wc -l <"$work/expert.err")
	printf '%-6s %-36s %8s %8s %8s %8s\n' "$codec" "CAAS packetizer -> expert (FFmpeg)" \
		"$(field rtp_packets_sent "$work/send.txt")" "$frames" "$dec" "$err"
	[ "$dec" = "$frames" ] && [ "$err" = 0 ] || status=1
done
echo
if [ $status = 0 ]; then
	echo "demo: every frame crossed both ways and decoded without error."
else
	echo "demo: FAILED - see the table above." >&2
fi
exit $status
