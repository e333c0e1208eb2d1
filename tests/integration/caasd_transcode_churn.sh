#!/usr/bin/env bash
# caasd transcoding under churn, as an appliance sees it over months: while a camera streams,
# subscribers come and go on two renditions, experts join through the join bridge and leave,
# snapshots are asked for, and with linger_ms = 0 every session and rendition stream is torn
# down and made again many times. caasd must stay up, answer throughout, end with no session,
# and give back every mbuf of the workers' pool. (make test runs it again with caasd under
# ASan+UBSan, which also checks that nothing leaks.)
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

rounds=12

caas_setup
file=$(clip h264-720p-25s-g300 h264 25 300) || bail "encode the test clip (10 s GOP)"
caasd_start "s|^linger_ms *=.*|linger_ms = 0|" "s|^join_bridge *=.*|join_bridge = yes|" ||
	bail "caasd starts (linger_ms 0, join_bridge yes)"
ctl rendition add r360 --height 360 --kbps 500 >/dev/null &&
	ctl rendition add r180 --height 180 --kbps 200 --fps 15 >/dev/null ||
	bail "renditions r360 and r180 added"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
check "the workers' pool is unused before any session ($(ctlj transcode.mbufs_in_use status))" \
	"$(ctlj transcode.mbufs_in_use status)" = 0
ip netns exec "$LAB-exp" "$root/build/caas-replay" recv -l "$EXP_IP:6000" -n 4 -d 0 \
	-r "$work/recv.json" -q >"$work/recv.out" 2>&1 &
BG_PIDS+=($!)
wait_udp "$LAB-exp" 6000 || bail "the experts listen"
camera_start h264 "$file" 5004

ok_rounds=0
for ((i = 0; i < rounds; i++)); do
	a=$(ctl sub add cam1 --to "$EXP_IP:6000" --rendition r360) || break
	b=$(ctl sub add cam1 --to "$EXP_IP:6002" --rendition r180) || break
	c=$(ctl sub add cam1 --to "$EXP_IP:6004" --paused) || break
	sleep 0.4
	ctl sub resume "$c" >/dev/null || break # through the bridge, once the decoder is current
	((i % 4 == 0)) && { ctl snapshot cam1 -o "$work/snap$i.jpg" >/dev/null || break; }
	sleep 0.4
	ctl sub del "$a" >/dev/null && ctl sub del "$b" >/dev/null && ctl sub del "$c" >/dev/null ||
		break
	sleep 0.3 # linger_ms 0: the rendition streams go at the next tick
	ok_rounds=$((ok_rounds + 1))
done
check "$ok_rounds of $rounds rounds of subscribe, bridge, snapshot, unsubscribe" "$ok_rounds" = $rounds
joins=$(ctl --json transcode list | jget 0.bridge.joins 2>/dev/null || echo 0)
check "caasd is up and answering" "$(ctl status >/dev/null 2>&1 && echo yes)" = yes
events=$(ctl events --since 0 | grep -c '"rendition_started"')
check "the rendition streams were made again and again ($events rendition_started events)" \
	"$(is "$events >= $rounds")" = 1
ctl device del cam1 >/dev/null
check "the device goes, its session with it" $? = 0
idle() { [ "$(ctl --json transcode list)" = "[]" ] && [ "$(ctlj transcode.mbufs_in_use status)" = 0 ]; }
wait_for 5 idle
check "no session left, and every mbuf of the workers' pool back ($(ctlj transcode.mbufs_in_use status) in use)" $? = 0
diag "bridge joins in the last session: $joins; snapshots written: $(ls "$work"/snap*.jpg 2>/dev/null | wc -l)"
check "every snapshot is a JPEG" "$(for f in "$work"/snap*.jpg; do ffprobe -v error -show_entries \
	stream=codec_name -of csv=p=0 "$f"; done | sort -u)" = mjpeg

caasd_stop_check
caas_done
