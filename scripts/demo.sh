#!/usr/bin/env bash
# `make demo`: the appliance end to end, in a lab of network namespaces on this machine.
# caasd drives its veth with DPDK; an officer's camera (FFmpeg, H.264 720p30) streams RTP to
# it; two remote experts (FFmpeg) subscribe, one of them joining late, and decode what they get;
# the operator's view (caasctl) is printed; everything is torn down at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
export CAAS_LAB=caas-demo
lab="$root/scripts/lab.sh"
work=$(mktemp -d)
sock=$work/caasd.sock
ctl() { "$root/build/caasctl" -s "$sock" "$@"; }
say() { printf '\n== %s\n' "$*"; }

cleanup() {
	[ -n "${caasd_pid:-}" ] && kill "$caasd_pid" 2>/dev/null && wait "$caasd_pid" 2>/dev/null
	"$lab" down >/dev/null 2>&1 || true
	[ -n "${DEMO_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

clip=$root/build/demo-media/camera-h264-12s.mp4
make_clip h264 "$clip" 12
frames=$(count_frames "$clip")

say "lab: caasd at 198.18.0.1 (DPDK on veth), camera at 198.18.0.2, experts at 198.18.0.3"
"$lab" up >/dev/null
sed -e "s|^socket = .*|socket = $sock|" -e 's|^mbufs = .*|mbufs = 32768|' -e "s|^dir = .*|dir = $work/rec|" \
	-e "s|^state = .*|state = $work/state.json|" \
	"$root/conf/caasd.conf" >"$work/caasd.conf"
"$lab" exec dut "$root/build/caasd" -c "$work/caasd.conf" >"$work/caasd.log" 2>&1 &
caasd_pid=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
grep "^caasd" "$work/caasd.log" || { cat "$work/caasd.log"; exit 1; }
"$lab" exec cam ping -c 1 -W 2 198.18.0.1 >/dev/null && echo "camera pings caasd: ok"

say "operator registers the officer's camera"
echo "\$ caasctl device add officer-17 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32"
ctl device add officer-17 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32 >/dev/null
ctl device list

say "the camera streams (FFmpeg, ${frames} frames of 720p30)"
"$lab" exec cam ffmpeg -nostdin -v error -re -i "$clip" -an -c copy -bsf:v h264_mp4toannexb \
	-f rtp -pkt_size 1200 rtp://198.18.0.1:5004 >"$work/camera.log" 2>&1 &
cam_pid=$!

expert() { # name port: subscribe paused, start FFmpeg on the SDP, resume; FFmpeg writes NAME.md5
	local id
	id=$(ctl sub add officer-17 --to "198.18.0.3:$2" --paused)
	ctl sub sdp "$id" >"$work/$1.sdp"
	"$lab" exec exp timeout 20 ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-i "$work/$1.sdp" -fps_mode passthrough -flush_packets 1 -f framemd5 "$work/$1.md5" \
		2>"$work/$1.err" &
	wait_udp "$CAAS_LAB-exp" "$2"
	ctl sub resume "$id"
	echo "expert $1 subscribed as #$id on port $2"
}
sleep 1
say "an expert from the timber pool joins"
expert timber 6000
sleep 4
say "a second expert (valuation) joins mid-stream: the fast-start cache gives a picture at once"
expert valuation 6002
sleep 2

say "operator's view"
echo "\$ caasctl stream list"
ctl stream list
echo "\$ caasctl sub list"
ctl sub list
echo "\$ caasctl status (excerpt)"
ctl status | grep -E 'rx_pps|tx_pps|zero_copy|devices|subscribers'

wait "$cam_pid" || true
sleep 1
# The stream is over: let the experts' FFmpeg finish writing and exit, as Ctrl-C would.
pkill -INT -f "^ffmpeg .*framemd5 $work/" 2>/dev/null || true
for _ in $(seq 50); do pgrep -f "^ffmpeg .*framemd5 $work/" >/dev/null || break; sleep 0.1; done
say "what the experts decoded"
status=0
for e in timber valuation; do
	got=$(grep -vc '^#' "$work/$e.md5" 2>/dev/null || true)
	errs=$(wc -l <"$work/$e.err")
	echo "expert $e: ${got:-0} frames decoded, $errs decoder messages"
	sed 's/^/    /' "$work/$e.err" | head -5
	[ "${got:-0}" -gt 0 ] && [ "$errs" = 0 ] || status=1
done
ctl sub list
ctl --json status | python3 -c "import json,sys; d=json.load(sys.stdin)[\"drops\"]; print(\"drops:\", {k: v for k, v in d.items() if v})"
"$lab" exec exp netstat -su | grep -i "buffer errors" || true
[ $status = 0 ] && echo "demo: both experts saw the officer's camera." || echo "demo: FAILED" >&2
exit $status
