#!/usr/bin/env bash
# caasd transcoding: renditions for constrained experts, snapshots, and bad requests.
#
# A 1080p30 H.264 camera (FFmpeg, about 5 Mbit/s, 2 s GOP) sends to caasd. Expert A subscribes
# to the 360p / 500 kbit/s rendition before the camera starts; expert B joins the same rendition
# 6 s later (a forced IDR: what B receives decodes from its first frame). Both are FFmpeg
# receivers that store what they get (-c copy). We check with ffprobe that the rendition is
# 640x360, that its bit rate over the run is within 20% of 500 kbit/s, and that FFmpeg decodes
# both experts' streams without one message; that a passthrough subscriber of the same stream
# missed nothing; that "caasctl snapshot" writes a 1920x1080 JPEG; that the rendition stream and
# the decoder stop linger_ms after the last subscriber left; and that bad requests are refused
# with a clear error and change nothing.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

secs=12
kbps=500

caas_setup
file=$MEDIA/h264-1080p-${secs}s-g60.mp4
make_clip h264 "$file" $secs 1920x1080 60 || bail "encode the 1080p test clip"
src_frames=$(count_frames "$file")
caasd_start "s|^linger_ms *=.*|linger_ms = 1000|" || bail "caasd starts with [transcode] workers = 1"
check "status reports one transcode worker" "$(ctlj transcode.workers status)" = 1

# --- renditions, and what is refused -------------------------------------------------------------
ctl rendition add r360 --height 360 --kbps $kbps >/dev/null
check "rendition r360 added (360 lines, $kbps kbit/s)" $? = 0
check "rendition list shows it" "$(ctl --json rendition list | jget name=r360.kbps)" = $kbps
out=$(ctl rendition add r360 --height 480 --kbps 900 2>&1)
check "a second r360 is refused: $out" "$(grep -c 'already exists' <<<"$out")" = 1
out=$(ctl rendition add odd --height 361 --kbps 500 2>&1)
check "an odd height is refused: $out" "$(grep -c 'even' <<<"$out")" = 1
out=$(ctl rendition add slow --height 360 --kbps 0 2>&1)
check "--kbps 0 is refused" -n "$out"
check "...and nothing was added" "$(ctl --json rendition list | jget 1 || echo none)" = none

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
ctl device add mic1 --port 5010 --codec opus --pt 111 >/dev/null || bail "device mic1 added"
out=$(ctl sub add cam1 --to "$EXP_IP:6100" --rendition nosuch 2>&1)
check "a subscription to an unknown rendition is refused: $out" \
	"$(grep -c 'no rendition nosuch' <<<"$out")" = 1
out=$(ctl sub add mic1 --to "$EXP_IP:6100" --rendition r360 2>&1)
check "a rendition of an audio stream is refused: $out" "$(grep -c 'H.264 and H.265' <<<"$out")" = 1
check "...and no subscription was made" "$(ctl --json sub list)" = "[]"

# --- expert A on the rendition, a passthrough expert, then the camera ------------------------------
# receive NAME PORT: an FFmpeg expert in LAB-exp storing the subscription's H.264 as it comes.
receive() {
	local name=$1 id=$2 port=$3
	ctl sub sdp "$id" >"$work/$name.sdp" || return 1
	ip netns exec "$LAB-exp" ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-buffer_size 16777216 -i "$work/$name.sdp" -c copy -f h264 "$work/$name.h264" \
		>/dev/null 2>"$work/$name.err" &
	BG_PIDS+=($!)
	eval "${name}_pid=$!"
	wait_udp "$LAB-exp" "$port"
}

a=$(ctl sub add cam1 --to "$EXP_IP:6000" --rendition r360 --paused)
check "expert A subscribed to cam1's r360 (id ${a:-none})" -n "$a"
receive a "$a" 6000 || bail "expert A listens on 6000"
ctl sub resume "$a" >/dev/null
p=$(ctl sub add cam1 --to "$EXP_IP:6200")
ip netns exec "$LAB-exp" "$root/build/caas-replay" recv -l "$EXP_IP:6200" -d $((secs + 4)) \
	-r "$work/pass.json" -q >"$work/pass.out" 2>&1 &
pass_pid=$!
BG_PIDS+=("$pass_pid")
wait_udp "$LAB-exp" 6200 || bail "the passthrough expert listens on 6200"
check "cam1's rendition stream exists: $(ctl --json transcode list | jget 0.renditions.0.output)" \
	"$(ctl --json transcode list | jget 0.renditions.0.output)" = cam1@r360

camera_start h264 "$file" 5004
t_cam=$(date +%s.%N)
sleep 6
b=$(ctl sub add cam1 --to "$EXP_IP:6002" --rendition r360 --paused)
receive b "$b" 6002 || bail "expert B listens on 6002"
ctl sub resume "$b" >/dev/null
check "expert B joined the same rendition stream (id ${b:-none}) 6 s in" -n "$b"

out=$(ctl rendition del r360 2>&1)
check "a rendition in use is not removed: $out" "$(grep -c 'subscriber' <<<"$out")" = 1


ctl snapshot cam1 -o "$work/snap.jpg" >"$work/snap.out" 2>&1
check "snapshot written: $(cat "$work/snap.out")" $? = 0
check "the snapshot is a 1920x1080 JPEG (ffprobe: $(ffprobe -v error -show_entries \
	stream=codec_name,width,height -of csv=p=0 "$work/snap.jpg" 2>&1))" \
	"$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 \
		"$work/snap.jpg" 2>/dev/null)" = "mjpeg,1920,1080"
out=$(ctl snapshot mic1 -o "$work/mic.jpg" 2>&1)
check "no snapshot of an audio stream: $out" "$(test -e "$work/mic.jpg" && echo yes || echo no)" = no

# An expert on a narrow link (600 kbit/s) presses nothing: the officer's help request reaches
# it, and its session gets the rendition that fits, not the camera's 5 Mbit/s.
ctl pool add narrow >/dev/null && ctl expert add slow1 --pool narrow --to "$EXP_IP:6400" \
	--max-kbps 600 --auto-accept >/dev/null && ctl help cam1 --pool narrow >/dev/null
check "a help request to an expert whose link takes 600 kbit/s" $? = 0
sleep 1
hs=$(ctl --json sub list | python3 -c '
import json, sys
print(next((s["stream"] for s in json.load(sys.stdin) if s["to"].endswith(":6400")), "none"))')
check "its session streams the 500 kbit/s rendition: $hs" "$hs" = cam1@r360
hp=$(ctl --json sub list | python3 -c '
import json, sys
print(next((s["packets"] for s in json.load(sys.stdin) if s["to"].endswith(":6400")), 0))')
check "and sends it ($hp packets in its first second)" "$(is "${hp:-0} > 0")" = 1
ctl help end 1 >/dev/null
check "help request 1 ended" $? = 0

wait_pid "$CAM_PID" $((secs + 10))
check "the camera sent the whole clip" $? = 0
sleep 1
ctl --json transcode list >"$work/tc.json"
ctl --json sub list >"$work/subs.json"
inns dut curl -s -m 5 -o "$work/metrics.txt" http://127.0.0.1:9464/metrics
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
check "promtool accepts the metrics page with the transcode families" $? = 0
diag_file "$work/promtool.out" 5
mf=$(sed -n 's/^caas_rendition_frames_total{device="cam1",rendition="r360"} //p' "$work/metrics.txt")
t=$(telemetry /caas/transcode)
check "telemetry /caas/transcode: one session, $(jget /caas/transcode.frames_encoded <<<"$t") frames encoded" \
	"$(jget /caas/transcode.sessions <<<"$t")" = 1
check "caas_rendition_frames_total{device=cam1,rendition=r360} counts ${mf:-nothing}" \
	"$(is "${mf:-0} > 0")" = 1
expert_stop "$a_pid" 6000
check "expert A's FFmpeg ended cleanly" $? = 0
expert_stop "$b_pid" 6002
check "expert B's FFmpeg ended cleanly" $? = 0
wait_pid "$pass_pid" 10

# --- what the experts got ------------------------------------------------------------------------
size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 \
	"$work/a.h264" 2>/dev/null)
check "ffprobe: expert A's rendition is 640x360 (got ${size:-nothing})" "$size" = "640,360"
a_frames=$(count_frames "$work/a.h264")
check "expert A got ${a_frames:-0} of the camera's $src_frames frames (at least 90%)" \
	"$(is "${a_frames:-0} >= 0.9 * $src_frames")" = 1
ffmpeg -nostdin -v error -i "$work/a.h264" -f null - >"$work/a.dec" 2>&1
check "FFmpeg decodes expert A's stream without one message" "$(wc -c <"$work/a.dec")" = 0
diag_file "$work/a.dec" 5
check "expert A's receiver said nothing either" "$(wc -c <"$work/a.err")" = 0
# The bit rate of what was sent: bytes over the frames' duration at 30 fps.
bytes=$(stat -c %s "$work/a.h264")
rate=$(calc "$bytes * 8 / (${a_frames:-1} / 30.0) / 1000")
check "expert A's bit rate ${rate} kbit/s is within 20% of $kbps" \
	"$(is "0.8 * $kbps <= $rate <= 1.2 * $kbps")" = 1

b_frames=$(count_frames "$work/b.h264")
check "expert B, who joined 6 s in, got ${b_frames:-0} frames" "$(is "${b_frames:-0} >= 120")" = 1
ffmpeg -nostdin -v error -i "$work/b.h264" -f null - >"$work/b.dec" 2>&1
check "FFmpeg decodes expert B's stream from its first frame without one message" \
	"$(wc -c <"$work/b.dec")" = 0
diag_file "$work/b.dec" 5
first=$(ffprobe -v error -select_streams v:0 -show_frames -read_intervals '%+#1' \
	-show_entries frame=pict_type -of csv=p=0 "$work/b.h264" 2>/dev/null | head -n 1)
check "expert B's first frame is an I frame (the forced IDR; got ${first:-none})" "$first" = I

frames=$(jget 0.renditions.0.frames <"$work/tc.json")
check "transcode list: the rendition encoded ${frames:-0} frames" "$(is "${frames:-0} >= 0.9 * $src_frames")" = 1
diag "worker: late $(jget 0.late <"$work/tc.json"), dropped $(jget 0.dropped <"$work/tc.json") frames"
check "the metrics page counts the same frames" "${mf:-0}" = "${frames:-x}"
check "transcode list: no decode errors" "$(jget 0.decode_errors <"$work/tc.json")" = 0
check "transcode list: nothing dropped on the worker's ring" "$(jget 0.ring_drops <"$work/tc.json")" = 0

# Passthrough: every packet caasd accepted reached the passthrough expert.
accepted=$(ctlj packets stream show cam1)
got=$(jget total.packets <"$work/pass.json")
check "the passthrough expert received all $accepted packets the camera's stream had (got ${got:-0})" \
	"${got:-0}" = "$accepted"
check "...and lost none" "$(jget total.lost <"$work/pass.json")" = 0

# --- lingering, then gone --------------------------------------------------------------------------
ctl sub del "$a" && ctl sub del "$b" && ctl sub del "$p"
check "the three subscriptions removed" $? = 0
gone() { [ "$(ctl --json transcode list)" = "[]" ]; }
wait_for 5 gone
check "the rendition stream and the decoder stopped after linger_ms (1 s)" $? = 0
ctl tune set transcode.max_delay_ms 400 >/dev/null
check "transcode.max_delay_ms is tunable at run time" "$(ctl --json tune show | python3 -c '
import json, sys
print(next(t["value"] for t in json.load(sys.stdin) if t["key"] == "transcode.max_delay_ms"))')" = 400

caasd_stop_check
caasd_start "s|^linger_ms *=.*|linger_ms = 1000|" || bail "caasd starts again"
check "the rendition is back after a restart (state file)" \
	"$(ctl --json rendition list | jget name=r360.height)" = 360
ctl rendition del r360
check "an unused rendition is removed" $? = 0

caasd_stop_check
caas_done
