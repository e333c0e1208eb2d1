#!/usr/bin/env bash
# Round trip of the RTP protocol library against FFmpeg, in a network namespace of its own
# (loopback only). For H.264 (libx264) and H.265 (libx265) 720p30 clips:
#   FFmpeg's RTP muxer -> our depacketizer -> libavcodec: every frame, zero decode errors,
#     with parameter sets out of band (SDP) and in band; and with loss, broken frames dropped
#     rather than decoded with errors;
#   our packetizer -> FFmpeg's RTP demuxer (SDP from av_sdp_create): every frame, no errors,
#     at the usual MTU and at a small one that fragments every NAL unit.
# Prints one TAP line per check.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# check() and the TAP counters (defines functions only; sets root, work: source first)
. "$root/tests/integration/caasd_lib.sh"
tool=$root/build/tests/rtp_interop
media=$root/build/test-media
ns=caas-rtp-$$
work=$(mktemp -d)
port=40000


cleanup() {
	netns_down "$ns"
	rm -rf "$work"
}
trap cleanup EXIT

field() { sed -n "s/^$1=//p" "$2"; }
inns() { ip netns exec "$ns" "$@"; }

[ -x "$tool" ] || { echo "not ok 1 - $tool is not built"; exit 1; }
netns_up "$ns" || { echo "not ok 1 - cannot create netns"; exit 1; }
# 2 s of 720p30, a keyframe every second, B-frames as x264/x265 like them.
make_clip h264 "$media/h264.mp4" && make_clip h265 "$media/h265.mp4" ||
	{ echo "not ok 1 - cannot encode the test clips"; exit 1; }

# FFmpeg sends, we receive. Args: codec, case name, extra recv args, extra ffmpeg args.
ffmpeg_to_us() {
	local codec=$1 name=$2 recv_args=$3 ff_args=$4
	local out=$work/$codec-$name
	inns "$tool" recv --codec "$codec" --to 127.0.0.1:$port --out "$out.annexb" \
		--idle-ms 3000 $recv_args >"$out.txt" 2>"$out.err" &
	local pid=$!
	wait_udp "$ns" $port
	inns ffmpeg -nostdin -v error -re -i "$media/$codec.mp4" -an $ff_args -f rtp \
		-rtpflags send_bye -pkt_size 1200 rtp://127.0.0.1:$port >/dev/null 2>"$out.fferr"
	wait $pid
	echo "$out"
}

# We send, FFmpeg receives. Args: codec, case name, extra send args.
us_to_ffmpeg() {
	local codec=$1 name=$2 send_args=$3
	local out=$work/$codec-$name
	"$tool" sdp --codec "$codec" --input "$media/$codec.mp4" --to 127.0.0.1:$port >"$out.sdp"
	inns ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp -buffer_size 16777216 \
		-i "$out.sdp" -fps_mode passthrough -f framemd5 "$out.md5" 2>"$out.fferr" &
	local pid=$!
	wait_udp "$ns" $port
	inns "$tool" send --codec "$codec" --input "$media/$codec.mp4" --to 127.0.0.1:$port \
		--speed 2 $send_args >"$out.txt" 2>"$out.err"
	wait $pid
	echo "$out"
}

for codec in h264 h265; do
	expect=$(count_frames "$media/$codec.mp4")
	check "$codec: the test clip has frames ($expect)" "${expect:-0}" -gt 0

	# Parameter sets only in the SDP, as FFmpeg sends an MP4 with -c copy.
	sdp=$work/$codec-ffmpeg.sdp
	inns ffmpeg -nostdin -v error -i "$media/$codec.mp4" -an -c copy -frames:v 1 -f rtp \
		-sdp_file "$sdp" -pkt_size 1200 rtp://127.0.0.1:$((port + 10)) >/dev/null 2>&1
	o=$(ffmpeg_to_us "$codec" oob "--sdp $sdp" "-c copy")
	check "$codec ffmpeg->us, SDP parameter sets: decoded $(field frames_decoded "$o.txt") of $expect" \
		"$(field frames_decoded "$o.txt")" = "$expect"
	check "$codec ffmpeg->us, SDP parameter sets: zero decode errors" \
		"$(field decode_errors "$o.txt")" = 0
	check "$codec ffmpeg->us: no broken or malformed access units" \
		"$(field broken "$o.txt")$(field malformed "$o.txt")" = 00
	check "$codec ffmpeg->us: RTCP BYE from FFmpeg parsed" "$(field bye "$o.txt")" = 1
	probed=$(count_frames "$o.annexb")
	check "$codec: our Annex-B output is read by ffprobe as $expect frames ($probed)" \
		"${probed:-0}" = "$expect"

	# Parameter sets in band, as most cameras send them.
	bsf=${codec/h265/hevc}_mp4toannexb
	o=$(ffmpeg_to_us "$codec" inband "" "-c copy -bsf:v $bsf")
	check "$codec ffmpeg->us, in-band parameter sets: decoded $(field frames_decoded "$o.txt") of $expect" \
		"$(field frames_decoded "$o.txt")" = "$expect"
	check "$codec ffmpeg->us, in-band parameter sets: zero decode errors" \
		"$(field decode_errors "$o.txt")" = 0

	# Loss: every 50th packet dropped. Broken frames must be discarded, never decoded badly.
	o=$(ffmpeg_to_us "$codec" loss "--sdp $sdp --drop-every 50" "-c copy")
	frames=$(field frames_decoded "$o.txt")
	check "$codec with loss: $(field broken "$o.txt") broken access units detected" \
		"$(field broken "$o.txt")" -gt 0
	check "$codec with loss: zero decode errors (broken frames not passed on)" \
		"$(field decode_errors "$o.txt")" = 0
	check "$codec with loss: some frames decoded ($frames), fewer than $expect" \
		"${frames:-0}" -gt 0 -a "${frames:-0}" -lt "$expect"

	# Our packetizer to FFmpeg's demuxer and decoder.
	for mtu in 1200 300; do
		o=$(us_to_ffmpeg "$codec" "mtu$mtu" "--mtu $mtu")
		got=$(grep -vc '^#' "$o.md5")
		check "$codec us->ffmpeg, MTU $mtu: FFmpeg decoded $got of $expect frames" "$got" = "$expect"
		check "$codec us->ffmpeg, MTU $mtu: FFmpeg reported no errors" ! -s "$o.fferr"
		[ -s "$o.fferr" ] && sed 's/^/# /' "$o.fferr" | head -5
	done
done
exit $failed
