#!/usr/bin/env bash
# caasd fast start: an expert who joins in the middle of a long GOP gets a picture at once,
# from the keyframe caasd keeps cached, not when the camera's next keyframe comes.
#
# The camera (FFmpeg) sends a 25 s H.264 720p30 clip with a keyframe every 10 s (0, 10, 20 s).
# The expert joins 4.5 s after the second keyframe, 5.5 s before the next one. (The second, not
# the first: this test is about fast start alone, and the first keyframe is a special case, the
# stream's very first packets, that caasd_fanout.sh covers.) We measure the time from
# "caasctl sub resume" to the expert's first decoded frame, and want it under 0.5 s.
#
# How the time is measured: the expert is an FFmpeg that exits after one decoded frame
# (-frames:v 1), with nothing that waits for more input than it must (-probesize 32,
# -analyzeduration 0: the SDP carries the parameter sets, so FFmpeg needs no probing;
# -flags low_delay: no reordering delay in the decoder). Not -fflags nobuffer: FFmpeg then
# discards the packets it reads while opening the input, which here are the keyframe's, and
# decodes nothing until the camera's next keyframe. It is started first and is listening before
# we resume, so its own start costs nothing; a subshell notes the clock the moment it exits.
# resume-to-exit is an upper bound of resume-to-first-frame that includes FFmpeg's exit (a few
# ms). Reading frames off a pipe as they come would need a parser of our own and be no more
# exact; ffprobe -show_frames buffers its output, so its timing is not reliable.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

gop=300 # frames: 10 s at 30 fps
join_after_s=14.5
limit_s=0.5

caas_setup
file=$(clip h264-720p-25s-g$gop h264 25 $gop) || bail "encode the 25 s test clip (GOP $gop)"
# Fast start alone: the join bridge (which would answer this join with a fresh IDR) is off.
caasd_start "s|^join_bridge *=.*|join_bridge = no|" ||
	bail "caasd starts in $LAB-dut and answers on its control socket"

# The frame the expert should show first: the keyframe at 10 s (frame 300), as decoded here.
ffmpeg -nostdin -v error -i "$file" -fps_mode passthrough -frames:v $((gop + 1)) -f framemd5 \
	"$work/ref.md5"
keyframe_md5=$(grep -v '^#' "$work/ref.md5" | sed -n "$((gop + 1))p" | awk -F, '{ print $NF }' |
	tr -d ' ')

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
camera_start h264 "$file" 5004
cam=$CAM_PID
started() { [ "$(ctlj packets stream show cam1 2>/dev/null || echo 0)" -gt 0 ]; }
wait_for 5 started || bail "the camera's stream reaches caasd"
t_start=$(date +%s.%N)

id=$(ctl sub add cam1 --to "$EXP_IP:6000" --paused)
check "paused subscription to $EXP_IP:6000 (id ${id:-none})" -n "$id"

# Until 4.5 s after the second keyframe.
sleep "$(calc "max(0.0, $join_after_s - ($(date +%s.%N) - $t_start))")"
# The clip's keyframes are at 0 and 10 s. (caasd may miss the first one: it drops the first
# packets of a new source, more of them if they come reordered. The keyframe at 10 s is the
# one that matters here, and the checks below see that it is the expert's first frame.)
keyframes=$(ctlj keyframes stream show cam1)
check "the stream is mid-GOP: $keyframes keyframes seen in $join_after_s s (at 0 and 10 s)" \
	"${keyframes:-0}" -ge 1 -a "${keyframes:-0}" -le 2

ctl sub sdp "$id" >"$work/fast.sdp"
check "the subscription's SDP carries the parameter sets (sprop-parameter-sets)" \
	"$(grep -c 'sprop-parameter-sets=' "$work/fast.sdp")" = 1
(
	ip netns exec "$LAB-exp" ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-buffer_size 16777216 -probesize 32 -analyzeduration 0 -flags low_delay \
		-i "$work/fast.sdp" -frames:v 1 -f framemd5 "$work/fast.md5" \
		>/dev/null 2>"$work/fast.err"
	echo $? >"$work/fast.rc"
	date +%s.%N >"$work/fast.end"
) &
expert=$!
BG_PIDS+=("$expert")
wait_udp "$LAB-exp" 6000 || bail "the expert listens on UDP 6000"
sleep 0.3 # FFmpeg is past opening its sockets: now in its first read

t_resume=$(date +%s.%N)
ctl sub resume "$id" >/dev/null
check "subscription $id resumed" $? = 0
wait_pid "$expert" 12
rc=$(cat "$work/fast.rc" 2>/dev/null)
check "the expert's FFmpeg decoded a frame and exited (status ${rc:-none})" "${rc:-1}" = 0
elapsed=$(calc "$(cat "$work/fast.end" 2>/dev/null || echo 1e9) - $t_resume")
check "first frame decoded ${elapsed} s after sub resume (< $limit_s s)" \
	"$(is "$elapsed < $limit_s")" = 1
got_md5=$(grep -v '^#' "$work/fast.md5" 2>/dev/null | head -1 | awk -F, '{ print $NF }' | tr -d ' ')
check "the expert's first frame is the cached keyframe (frame $gop, bit-exact)" \
	"${got_md5:-none}" = "$keyframe_md5"
check "the expert's FFmpeg reported no errors" ! -s "$work/fast.err"
diag_file "$work/fast.err" 5

subs=$(ctl --json sub list)
fsp=$(jget "id=$id.fast_start_packets" <<<"$subs")
check "sub list reports fast_start_packets > 0 ($fsp)" "${fsp:-0}" -gt 0
state_live() { [ "$(ctlj "id=$id.state" sub list)" = live ]; }
wait_for 5 state_live
check "the subscription caught up with the live stream (state $(ctlj "id=$id.state" sub list))" \
	"$(ctlj "id=$id.state" sub list)" = live
now=$(ctlj keyframes stream show cam1)
check "no keyframe from the camera since the join ($keyframes then, $now now)" "$now" = "$keyframes"

stop_pid "$cam"
caasd_stop_check
caas_done
