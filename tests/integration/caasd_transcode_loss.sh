#!/usr/bin/env bash
# caasd transcoding on a lossy, reordering uplink: a 720p camera (caas-replay send) loses 2% of
# its packets and holds back 2% behind later ones; caasd NACKs the losses and the camera
# retransmits them, a round trip late. The renditions' decoder must see the packets in sequence
# order: the worker's reorder buffer waits [transcode] reorder_ms (150 ms) for a missing packet.
#
# Phase 1 (default reorder_ms): every packet reaches the decoder in order, nothing is given up,
# and what the 360p expert gets decodes without one FFmpeg message. Phase 2, the same camera,
# reorder_ms = 0 (tune, for sessions opened from then): the worker cannot wait, and gives up the
# retransmitted and reordered packets: the counters show what the buffer is for.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
file=$(clip h264-720p-8s h264 8) || bail "encode the test clip"
caasd_start "s|^linger_ms *=.*|linger_ms = 500|" || bail "caasd starts"
ctl rendition add r360 --height 360 --kbps 500 >/dev/null || bail "rendition r360 added"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"

# phase_start NAME PORT: expert NAME on cam1's r360 at PORT (FFmpeg storing it); sets
# NAME_id (the subscription) and NAME_pid (the FFmpeg).
phase_start() {
	local name=$1 port=$2 id
	id=$(ctl sub add cam1 --to "$EXP_IP:$port" --rendition r360 --paused) || return 1
	eval "${name}_id=$id"
	ctl sub sdp "$id" >"$work/$name.sdp"
	ip netns exec "$LAB-exp" ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-buffer_size 16777216 -i "$work/$name.sdp" -c copy -f h264 "$work/$name.h264" \
		>/dev/null 2>"$work/$name.err" &
	BG_PIDS+=($!)
	eval "${name}_pid=$!"
	wait_udp "$LAB-exp" "$port" || return 1
	ctl sub resume "$id" >/dev/null
}

phase_start a 6000 || bail "expert A on r360"
ip netns exec "$LAB-cam" "$root/build/caas-replay" send --to "$DUT_IP:5004" --input "$file" \
	--duration 12 --loss 0.02 --reorder 0.02 --seed 7 --no-ext --report "$work/send1.json" \
	--quiet >"$work/send1.out" 2>&1
check "the camera sent 12 s with 2% loss and 2% reordering" $? = 0
sleep 1
ctl --json transcode list >"$work/tc1.json"
ctl --json stream show cam1 >"$work/st1.json"
expert_stop "$a_pid" 6000
ctl sub del "$a_id" >/dev/null

nacks=$(jget nacks_sent <"$work/st1.json")
recovered=$(jget recovered <"$work/st1.json")
diag "caasd: NACKs $nacks, recovered $recovered; worker reorder buffer: $(jget 0.reorder <"$work/tc1.json")"
check "caasd NACKed the losses and the camera filled them (${recovered:-0} recovered)" \
	"$(is "${recovered:-0} > 0")" = 1
check "the worker put $(jget 0.reorder.reordered <"$work/tc1.json") packets back in order" \
	"$(is "$(jget 0.reorder.reordered <"$work/tc1.json") > 0")" = 1
check "and gave none up ($(jget 0.reorder.lost <"$work/tc1.json") lost)" \
	"$(jget 0.reorder.lost <"$work/tc1.json")" = 0
check "the decoder had no errors" "$(jget 0.decode_errors <"$work/tc1.json")" = 0
frames=$(count_frames "$work/a.h264")
check "expert A got ${frames:-0} frames of 360 (12 s)" "$(is "${frames:-0} >= 340")" = 1
ffmpeg -nostdin -v error -i "$work/a.h264" -f null - >"$work/a.dec" 2>&1
check "FFmpeg decodes them without one message" "$(wc -c <"$work/a.dec")" = 0
diag_file "$work/a.dec" 5

# Phase 2: no waiting. The session closes after linger_ms; the next opens with reorder_ms 0.
gone() { [ "$(ctl --json transcode list)" = "[]" ]; }
wait_for 5 gone || bail "the first session closed"
ctl tune set transcode.reorder_ms 0 >/dev/null
phase_start b 6002 || bail "expert B on r360"
ip netns exec "$LAB-cam" "$root/build/caas-replay" send --to "$DUT_IP:5004" --input "$file" \
	--duration 12 --loss 0.02 --reorder 0.02 --seed 7 --no-ext --report "$work/send2.json" \
	--quiet >"$work/send2.out" 2>&1
sleep 1
ctl --json transcode list >"$work/tc2.json"
expert_stop "$b_pid" 6002
diag "without waiting: $(jget 0.reorder <"$work/tc2.json")"
check "with reorder_ms 0 the worker gives up what comes late ($(jget 0.reorder.lost <"$work/tc2.json") lost)" \
	"$(is "$(jget 0.reorder.lost <"$work/tc2.json") > 0")" = 1

caasd_stop_check
caas_done
