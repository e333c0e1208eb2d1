#!/usr/bin/env bash
# perf/run ingest: how many camera streams, each fanned out to 2 experts, pass through the
# appliance with less than 0.1% loss, and the CPU each part used; then the same load through the
# relay a user would otherwise build with kernel sockets (GStreamer udpsrc ! multiudpsink), in
# the same run on the same machine. caas-replay is both ends. Prints one JSON object last.
#   INGEST_STEPS   stream counts to try, ascending (default "16 32 64 128 160 192 256")
#   INGEST_SECONDS seconds of load per step (default 8)
#   INGEST_CLIP    the camera clip (default: 720p30 H.264 at about 4 Mbit/s, made once)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/perf/lib.sh"
steps=${INGEST_STEPS:-16 32 64 128 160 192 256}
secs=${INGEST_SECONDS:-8}

clip=${INGEST_CLIP:-$root/build/test-media/ingest-h264-720p-4mbit.mp4}
if [ ! -s "$clip" ]; then
	mkdir -p "$(dirname "$clip")"
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -c:v libx264 \
		-preset veryfast -b:v 4M -maxrate 4M -bufsize 4M -g 30 -pix_fmt yuv420p "$clip"
fi

gst_up() { # N: the kernel-socket relay in LAB-dut, with the address caasd would have had
	local n=$1 p=""
	ip -n "$CAAS_LAB-dut" addr add "$DUT/24" dev dut0 2>/dev/null || true
	for ((i = 0; i < n; i++)); do
		p+=" udpsrc port=$((5004 + 2 * i)) buffer-size=4194304 ! multiudpsink sync=false"
		p+=" clients=$EXP:$((6000 + 4 * i)),$EXP:$((6002 + 4 * i))"
	done
	# shellcheck disable=SC2086 # one word per pipeline element
	ip netns exec "$CAAS_LAB-dut" gst-launch-1.0 -q $p >"$work/gst.log" 2>&1 &
	RELAY_PID=$!
	sleep 1
}

results=()
capacity=0
gst_capacity=0
for n in $steps; do
	"$lab" up >/dev/null
	# Forwarding against forwarding: recording (perf/run record measures it) is off here.
	caasd_up 's|^enabled = .*|enabled = false|'
	devices "$n"
	"$lab" exec cam ping -c 1 -W 2 $DUT >/dev/null
	read -r loss cpu_caasd cpu_send cpu_recv pkts <<<"$(load "$n")"
	relay_down

	"$lab" up >/dev/null
	gst_up "$n"
	"$lab" exec cam ping -c 1 -W 2 $DUT >/dev/null
	read -r gloss cpu_gst _ _ _ <<<"$(load "$n")"
	relay_down

	echo "ingest: $n streams: caasd loss $loss cpu ${cpu_caasd}s | gstreamer loss $gloss cpu ${cpu_gst}s" >&2
	results+=("{\"streams\":$n,\"packets_sent\":$pkts,\"caasd\":{\"loss\":$loss,\"cpu_s\":$cpu_caasd},\"gstreamer\":{\"loss\":$gloss,\"cpu_s\":$cpu_gst},\"sender_cpu_s\":$cpu_send,\"receiver_cpu_s\":$cpu_recv}")
	python3 -c "import sys; sys.exit(0 if float('$loss') < 0.001 else 1)" && capacity=$n
	python3 -c "import sys; sys.exit(0 if float('$gloss') < 0.001 else 1)" && gst_capacity=$n
	python3 -c "import sys; sys.exit(0 if float('$loss') < 0.001 or float('$gloss') < 0.001 else 1)" || break
done
printf '{"scenario":"ingest","seconds_per_step":%s,"fanout":2,"capacity_streams":%s,"gstreamer_capacity_streams":%s,"steps":[%s]}\n' \
	"$secs" "$capacity" "$gst_capacity" "$(IFS=,; echo "${results[*]}")"
