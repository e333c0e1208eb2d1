#!/usr/bin/env bash
# caasd join bridge: an expert who joins in the middle of a 10-second GOP sees the live picture
# at once, and is then moved onto the camera's own packets without a break.
#
# The camera (FFmpeg) sends a 25 s 720p30 H.264 clip with a keyframe every 10 s. The expert has
# a paused subscription from the start (as a help session's expert has before accepting), so
# with [transcode] join_bridge = auto caasd keeps the stream's decoder current once it has seen
# that the GOP is long. 5.5 s in, the expert (caas-replay's receiver, which times the first
# packet and the first keyframe from the moment it listens) is resumed. tcpdump records what the
# camera sent and what the expert got.
#
# Checked: the first keyframe reaches the expert within 150 ms; that first picture is the live
# one (it matches the clip's frame at the join time, not the cached keyframe 5.5 s older); the
# expert's packets have one SSRC, sequence numbers without a gap, and from the first packet that
# carries the camera's payload on (the start of the camera's next keyframe) they are exactly
# the camera's packets, in order; and everything it got decodes without one FFmpeg message.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

gop=300 # frames: 10 s at 30 fps
join_at_s=5.5
limit_ms=150

caas_setup
file=$(clip h264-720p-25s-g$gop h264 25 $gop) || bail "encode the 25 s test clip (GOP $gop)"
caasd_start || bail "caasd starts in $LAB-dut and answers on its control socket"
check "the join bridge is on for long GOPs (join_bridge = auto)" \
	"$(ctlj transcode.join_bridge status)" = auto

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
id=$(ctl sub add cam1 --to "$EXP_IP:7000" --paused)
check "a paused subscription for the expert (id ${id:-none})" -n "$id"

ip netns exec "$LAB-cam" tcpdump -i any -U -w "$work/cam.pcap" udp dst port 5004 \
	>/dev/null 2>"$work/tcpdump-cam.err" &
BG_PIDS+=($!)
ip netns exec "$LAB-exp" tcpdump -i any -U -w "$work/exp.pcap" udp dst port 7000 \
	>/dev/null 2>"$work/tcpdump-exp.err" &
BG_PIDS+=($!)
dumps_up() { grep -q listening "$work/tcpdump-cam.err" && grep -q listening "$work/tcpdump-exp.err"; }
wait_for 5 dumps_up || bail "tcpdump listens in both namespaces"

camera_start h264 "$file" 5004
t_cam=$(date +%s.%N)
decoding() { [ "$(ctlj 0.decoded transcode list 2>/dev/null || echo 0)" -gt 0 ]; }
wait_for 5 decoding
check "caasd decodes cam1 for the bridge ($(calc "$(date +%s.%N) - $t_cam") s after the camera started)" $? = 0

sleep "$(calc "max(0.0, $join_at_s - ($(date +%s.%N) - $t_cam))")"
check "the stream is mid-GOP: $(ctlj keyframes stream show cam1) keyframe(s) seen" \
	"$(ctlj keyframes stream show cam1)" = 1
ip netns exec "$LAB-exp" "$root/build/caas-replay" recv -l "$EXP_IP:7000" -d 9 \
	-r "$work/recv.json" -q >"$work/recv.out" 2>&1 &
recv=$!
BG_PIDS+=("$recv")
wait_udp "$LAB-exp" 7000 || bail "the expert listens on UDP 7000"
t_join=$(date +%s.%N)
ctl sub resume "$id" >/dev/null
check "subscription $id resumed $(calc "$t_join - $t_cam") s after the camera started" $? = 0
sleep 1
check "it started through the bridge: $(ctl --json transcode list | jget 0.bridge)" \
	"$(ctlj 0.bridge.joins transcode list)" = 1
wait_pid "$recv" 15
check "the expert's receiver ran its 9 s" $? = 0
check "and at the end it is on the camera's stream: state $(ctlj 0.state sub list)" \
	"$(ctlj 0.state sub list)" = live

# From "caasctl sub resume" (its start, so caasctl's own start-up counts against caasd) to the
# first keyframe's arrival, on the wall clock both sides read.
kf_at=$(jget streams.0.first_keyframe_unix_s <"$work/recv.json")
join_ms=$(calc "(${kf_at:-1e12} - $t_join) * 1000")
check "the first keyframe reached the expert $join_ms ms after the join (< $limit_ms)" \
	"$(is "0 < $join_ms < $limit_ms")" = 1
diag "first keyframe $(jget total.first_keyframe_ms <"$work/recv.json") ms after the receiver listened"
echo "join_ms=$join_ms" >>"$work/figures"

caasd_stop_check
sleep 0.5 # tcpdump writes what it has

python3 "$root/tests/integration/rtp_splice.py" "$work/cam.pcap" "$work/exp.pcap" \
	"$work/exp.h264" >"$work/splice.json"
diag "splice: $(cat "$work/splice.json")"
sj() { jget "$1" <"$work/splice.json"; }
check "the expert's packets carry one SSRC" "$(sj ssrcs)" = 1
check "their sequence numbers have no gap or jump, bridge to camera" "$(sj seq_gaps)" = 0
check "their timestamps never go back up to the splice" "$(sj ts_backwards)" = 0
check "$(sj bridge_packets) bridge packets came first" "$(is "$(sj bridge_packets) > 0")" = 1
check "the camera's packets start at one of its keyframes" "$(sj spliced_at_kf)" = true
check "after the splice, all $(sj camera_after) packets are the camera's own, in order" \
	"$(sj identical_after)" = "$(sj camera_after)"
check "the splice came with the camera's keyframe at 10 s: $(sj camera_after) camera packets" \
	"$(is "$(sj camera_after) > 300")" = 1

ffmpeg -nostdin -v error -i "$work/exp.h264" -f null - >"$work/exp.dec" 2>&1
check "FFmpeg decodes everything the expert got without one message" "$(wc -c <"$work/exp.dec")" = 0
diag_file "$work/exp.dec" 5
frames=$(count_frames "$work/exp.h264")
check "the expert decoded ${frames:-0} frames in its 9 s (at least 240)" "$(is "${frames:-0} >= 240")" = 1

# Which frame of the clip the expert saw first: compare its first decoded picture, small and
# grey, with the clip's first 10 s.
ffmpeg -nostdin -v error -i "$work/exp.h264" -frames:v 1 -vf scale=160:90,format=gray \
	-f rawvideo "$work/first.gray"
ffmpeg -nostdin -v error -i "$file" -t 10 -vf scale=160:90,format=gray -f rawvideo "$work/clip.gray"
best=$(python3 -c '
import sys
first = open(sys.argv[1], "rb").read()
clip = open(sys.argv[2], "rb").read()
n = len(first)
errs = [sum((a - b) ** 2 for a, b in zip(first, clip[i:i + n])) for i in range(0, len(clip) - n + 1, n)]
print(min(range(len(errs)), key=errs.__getitem__))
' "$work/first.gray" "$work/clip.gray")
expect=$(calc "int(($t_join - $t_cam) * 30)")
check "the expert's first picture is the clip's frame ${best:-?}, the live one (~$expect), not the cached keyframe" \
	"$(is "abs(${best:--999} - $expect) <= 15")" = 1

caas_done
