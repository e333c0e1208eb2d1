#!/usr/bin/env bash
# caasd transcoding under overload: more renditions of one 1080p30 camera than one worker can
# encode in real time. The worker must fall back to decoding without encoding (whole frames
# skipped, counted and reported) and never make the dataplane wait: a passthrough expert of the
# same stream receives every packet, and a rendition's expert still gets a stream that decodes
# without one FFmpeg message, only with fewer frames.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

secs=12

caas_setup
file=$MEDIA/h264-1080p-${secs}s-g60.mp4
make_clip h264 "$file" $secs 1920x1080 60 || bail "encode the 1080p test clip"
src_frames=$(count_frames "$file")
caasd_start "s|^workers *=.*|workers = 1|" || bail "caasd starts with one transcode worker"

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
# Seven renditions, five of them full size: several times what one core encodes at 30 fps.
subs=()
k=0
for spec in "1080 6000" "1080 5000" "1080 4000" "1080 3500" "1080 3000" "720 2000" "360 500"; do
	set -- $spec
	ctl rendition add "r$k" --height "$1" --kbps "$2" >/dev/null || bail "rendition r$k added"
	id=$(ctl sub add cam1 --to "$EXP_IP:$((6000 + 2 * k))" --rendition "r$k") ||
		bail "a subscriber of rendition r$k"
	subs+=("$id")
	k=$((k + 1))
done
check "seven rendition streams of cam1 on one worker" \
	"$(ctl --json transcode list | jget 0.renditions | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 7
# The 360p rendition's expert stores what it gets (the other six go to closed ports).
ctl sub del "${subs[6]}" >/dev/null
id=$(ctl sub add cam1 --to "$EXP_IP:6100" --rendition r6 --paused)
ctl sub sdp "$id" >"$work/r6.sdp"
ip netns exec "$LAB-exp" ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
	-buffer_size 16777216 -i "$work/r6.sdp" -c copy -f h264 "$work/r6.h264" \
	>/dev/null 2>"$work/r6.err" &
r6_pid=$!
BG_PIDS+=("$r6_pid")
wait_udp "$LAB-exp" 6100 || bail "the 360p expert listens on 6100"
ctl sub resume "$id" >/dev/null
ctl sub add cam1 --to "$EXP_IP:6200" >/dev/null
ip netns exec "$LAB-exp" "$root/build/caas-replay" recv -l "$EXP_IP:6200" -d $((secs + 4)) \
	-r "$work/pass.json" -q >"$work/pass.out" 2>&1 &
pass_pid=$!
BG_PIDS+=("$pass_pid")
wait_udp "$LAB-exp" 6200 || bail "the passthrough expert listens on 6200"

camera_start h264 "$file" 5004
wait_pid "$CAM_PID" $((secs + 10))
check "the camera sent the whole clip" $? = 0
sleep 2
ctl --json transcode list >"$work/tc.json"
ctl --json rendition list >"$work/rend.json"
ctl --json status >"$work/status.json"
wait_pid "$pass_pid" 10
expert_stop "$r6_pid" 6100

skipped=$(jget transcode.skipped <"$work/status.json")
late=$(jget 0.late <"$work/tc.json")
dropped=$(jget 0.dropped <"$work/tc.json")
diag "frames in $(jget 0.frames_in <"$work/tc.json"), late (decoded, not encoded) $late, dropped to catch up $dropped, rendition frames skipped $skipped"
check "the worker fell behind and said so: $late late frames, $dropped dropped" \
	"$(is "${late:-0} + ${dropped:-0} > 0")" = 1
check "rendition frames were skipped, counted in status ($skipped) and rendition list" \
	"$(is "${skipped:-0} > 0 and $(jget name=r0.skipped <"$work/rend.json") > 0")" = 1
check "an event said the worker fell behind" "$(ctl events | grep -c '"transcode_behind"')" = 1
check "the worker never stalled the dataplane: no packet refused by its ring" \
	"$(jget 0.ring_drops <"$work/tc.json")" = 0

accepted=$(ctlj packets stream show cam1)
got=$(jget total.packets <"$work/pass.json")
check "the passthrough expert received every one of the stream's $accepted packets (got ${got:-0})" \
	"${got:-0}" = "$accepted"
check "...and lost none" "$(jget total.lost <"$work/pass.json")" = 0

r6_frames=$(count_frames "$work/r6.h264")
check "the 360p expert got ${r6_frames:-0} of $src_frames frames: some, not all" \
	"$(is "0 < ${r6_frames:-0} < $src_frames")" = 1
ffmpeg -nostdin -v error -i "$work/r6.h264" -f null - >"$work/r6.dec" 2>&1
check "what it got decodes without one FFmpeg message" "$(wc -c <"$work/r6.dec")" = 0
diag_file "$work/r6.dec" 5

caasd_stop_check
caas_done
