#!/usr/bin/env bash
# caasd fan-out: an H.264 and an H.265 camera (FFmpeg, 720p30, 8 s, a keyframe every second,
# parameter sets in band) each send to a device of their own; each stream goes to two experts,
# real FFmpeg decoders in the experts' namespace, each on its own port. The experts are
# subscribed paused, started, and resumed once they listen, all before the cameras start, so
# each must decode (nearly) every frame the camera sent: >= 95% of the clip's frames, with no
# decoder complaints. caasctl must show each stream up with packets and 2 subscribers, and each
# subscription with packets. One TAP line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
# One encode at a time (x265 takes both cores); cached for later runs.
clip264=$(clip h264-720p-8s h264 8) && clip265=$(clip h265-720p-8s h265 8) ||
	bail "encode the 8 s test clips"
caasd_start || bail "caasd starts in $LAB-dut and answers on its control socket"

declare -A clips=([h264]=$clip264 [h265]=$clip265) dev_port=([h264]=5004 [h265]=5008)
declare -A frames sub_id exp_pid exp_port
for codec in h264 h265; do
	# What FFmpeg decodes from the clip itself: the frames' checksums, to compare with the experts'.
	ffmpeg -nostdin -v error -i "${clips[$codec]}" -fps_mode passthrough -f framemd5 \
		"$work/$codec-ref.md5"
	frames[$codec]=$(md5_frames "$work/$codec-ref.md5")
	probed=$(count_frames "${clips[$codec]}")
	check "$codec: the test clip has frames (${frames[$codec]} decoded, $probed counted)" \
		"${frames[$codec]:-0}" -gt 0 -a "${frames[$codec]}" = "$probed"
done

port=6000
for codec in h264 h265; do
	ctl device add "cam-$codec" --port "${dev_port[$codec]}" --codec "$codec" --pt 96 \
		--src "$CAM_IP/32" >/dev/null
	check "$codec: device cam-$codec added on port ${dev_port[$codec]}" $? = 0
	for e in a b; do
		name=$codec-$e
		id=$(ctl sub add "cam-$codec" --to "$EXP_IP:$port" --paused)
		check "$name: paused subscription to $EXP_IP:$port (id ${id:-none})" -n "$id"
		expert_start "$name" "${id:-0}" "$port"
		check "$name: FFmpeg expert listens on UDP $port" $? = 0
		sub_id[$name]=$id
		exp_pid[$name]=$EXP_PID
		exp_port[$name]=$port
		port=$((port + 2))
	done
done
for name in "${!sub_id[@]}"; do
	ctl sub resume "${sub_id[$name]}" >/dev/null
	check "$name: subscription ${sub_id[$name]} resumed" $? = 0
done

declare -A cam_pid
for codec in h264 h265; do
	camera_start "$codec" "${clips[$codec]}" "${dev_port[$codec]}"
	cam_pid[$codec]=$CAM_PID
done

# Half-way through the clips: what caasctl shows while the streams flow.
sleep 4
streams=$(ctl --json stream list)
subs=$(ctl --json sub list)
for codec in h264 h265; do
	s=cam-$codec
	state=$(jget "name=$s.state" <<<"$streams")
	packets=$(jget "name=$s.packets" <<<"$streams")
	nsubs=$(jget "name=$s.subscribers" <<<"$streams")
	check "$codec: stream list shows $s up (${state:-missing})" "$state" = up
	check "$codec: stream list shows $s with packets (${packets:-missing})" "${packets:-0}" -gt 0
	check "$codec: stream list shows $s with 2 subscribers (${nsubs:-missing})" "$nsubs" = 2
	for e in a b; do
		name=$codec-$e
		sp=$(jget "id=${sub_id[$name]}.packets" <<<"$subs")
		check "$name: sub list shows packets for subscription ${sub_id[$name]} (${sp:-missing})" \
			"${sp:-0}" -gt 0
	done
done

for codec in h264 h265; do
	wait_pid "${cam_pid[$codec]}" 20
	rc=$?
	check "$codec: the camera sent its whole clip (FFmpeg status $rc)" $rc = 0
	diag_file "$work/cam-${dev_port[$codec]}.err"
	diag "cam-$codec: $(ctl --json stream show "cam-$codec" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(", ".join("%s %s" % (k, d[k]) for k in ("packets", "expected", "lost", "reordered", "late",
                                               "duplicates", "restarts", "keyframes")))')"
done
sleep 1 # the last packets, and the decoders' last frames
for name in "${!exp_pid[@]}"; do
	expert_stop "${exp_pid[$name]}" "${exp_port[$name]}"
	rc=$?
	check "$name: expert's FFmpeg ends cleanly on RTCP BYE (status $rc)" $rc = 0
done

for codec in h264 h265; do
	for e in a b; do
		name=$codec-$e
		got=$(md5_frames "$work/$name.md5")
		want=${frames[$codec]}
		check "$name: expert decoded $got of the $want frames the camera sent (>= 95%)" \
			"$(is "$got >= 0.95 * $want")" = 1
		same=$(same_frames "$work/$codec-ref.md5" "$work/$name.md5")
		check "$name: each frame the expert decoded is bit-exact with the clip's ($same of $got)" \
			"$same" = "$got"
		errs=$(decode_errors "$name" | wc -l)
		check "$name: expert's FFmpeg reported no decode errors ($errs lines)" "$errs" = 0
		[ "$errs" = 0 ] || decode_errors "$name" | sort | uniq -c | sort -rn | head -5 |
			sed 's/^/# /'
	done
done

caasd_stop_check
caas_done
