#!/usr/bin/env bash
# `make demo`: the appliance end to end, in a lab of network namespaces on this machine.
# caasd drives its veth with DPDK; an officer's camera (FFmpeg, H.264 720p30) streams RTP to
# it and is recorded; the officer presses help and a timber expert is assigned, opens the
# session and accepts, decodes the video and talks back to the camera; a valuation expert on a
# narrow link joins mid-stream and gets a 360p rendition; a snapshot goes to the visualisation
# wall; the operator's view (caasctl) is printed; the recording is verified; everything is torn
# down at the end.
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

say "operator registers the officer's camera and the expert pools"
echo "\$ caasctl device add officer-17 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32 --talkback-port 7000"
ctl device add officer-17 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32 \
	--talkback-port 7000 >/dev/null
ctl pool add timber --skills wood,species >/dev/null
ctl pool add valuation --skills customs-value >/dev/null
ctl expert add anna --pool timber --to 198.18.0.3:6000 --audio-from-port 6900 --capacity 2 >/dev/null
echo "\$ caasctl rendition add r360 --height 360 --kbps 500"
ctl rendition add r360 --height 360 --kbps 500 >/dev/null
echo "\$ caasctl expert add ben --pool valuation --to 198.18.0.3:6100 --auto-accept --max-kbps 600"
ctl expert add ben --pool valuation --to 198.18.0.3:6100 --auto-accept --max-kbps 600 >/dev/null
ctl device list
ctl expert list

say "the camera streams (FFmpeg, ${frames} frames of 720p30); every packet is recorded"
"$lab" exec cam ffmpeg -nostdin -v error -re -i "$clip" -an -c copy -bsf:v h264_mp4toannexb \
	-f rtp -pkt_size 1200 rtp://198.18.0.1:5004 >"$work/camera.log" 2>&1 &
cam_pid=$!
status=0

client() { # name port sdp-file: an expert's player, FFmpeg writing NAME.md5
	"$lab" exec exp timeout 20 ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-i "$3" -fps_mode passthrough -flush_packets 1 -f framemd5 "$work/$1.md5" \
		2>"$work/$1.err" &
	wait_udp "$CAAS_LAB-exp" "$2"
}
sleep 1
say "the officer presses help: timber"
echo "\$ caasctl help officer-17 --pool timber"
rid=$(ctl help officer-17 --pool timber)
ctl help list
echo "anna's client opens what she will receive, then she accepts"
ctl expert sdp anna >"$work/anna.sdp"
client anna 6000 "$work/anna.sdp"
ctl help accept "$rid" --by anna

sleep 2
say "anna talks back: her voice reaches the officer's camera"
"$lab" exec cam python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7000)); s.settimeout(2)
n = 0
try:
    while True:
        s.recvfrom(2048); n += 1
except socket.timeout:
    pass
print("officer heard %d voice packets from caasd" % n)' &
listener=$!
sleep 0.3
"$lab" exec exp python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.3", 6900))
for i in range(50):
    s.sendto(struct.pack("!BBHII", 0x80, 111, i, i * 960, 0x414e4e41) + bytes(120), ("198.18.0.1", 5004))
    time.sleep(0.02)'
wait "$listener"

say "a valuation question: ben (auto-accepting, on a 600 kbit/s link) joins mid-stream"
rid2=$(ctl help officer-17 --pool valuation)
ctl expert sdp ben >"$work/ben.sdp"
client ben 6100 "$work/ben.sdp"
sleep 2
echo "\$ caasctl sub list   (ben gets the 360p rendition, transcoded once for whoever needs it)"
ctl sub list

say "a still for the visualisation wall"
echo "\$ caasctl snapshot officer-17 -o $work/officer-17.jpg"
ctl snapshot officer-17 -o "$work/officer-17.jpg" || status=1

say "operator's view"
echo "\$ caasctl status (excerpt)"
ctl status | grep -E 'rx_pps|tx_pps|zero_copy|devices|subscribers'
echo "\$ caasctl stream list"
ctl stream list
echo "\$ caasctl help list"
ctl help list
echo "\$ caasctl expert list"
ctl expert list
echo "\$ caasctl record list"
ctl record list
echo "\$ caasctl rendition list"
ctl rendition list

wait "$cam_pid" || true
sleep 1
ctl help end "$rid" && ctl help end "$rid2"
# The stream is over: let the experts' FFmpeg finish writing and exit, as Ctrl-C would.
pkill -INT -f "^ffmpeg .*framemd5 $work/" 2>/dev/null || true
for _ in $(seq 50); do pgrep -f "^ffmpeg .*framemd5 $work/" >/dev/null || break; sleep 0.1; done
say "what the experts decoded"
for e in anna ben; do
	got=$(grep -vc '^#' "$work/$e.md5" 2>/dev/null || true)
	errs=$(wc -l <"$work/$e.err")
	echo "expert $e: ${got:-0} frames decoded, $errs decoder messages"
	sed 's/^/    /' "$work/$e.err" | head -5
	[ "${got:-0}" -gt 0 ] || status=1
done

say "the recording is evidence: sealed, signed, verified"
ctl record stop officer-17 >/dev/null
echo "\$ caasctl record verify $work/rec/officer-17 --key $work/rec/key.pub.pem"
ctl record verify "$work/rec/officer-17" --key "$work/rec/key.pub.pem" || status=1
ls "$work/rec/officer-17"
ctl events | tail -5
ctl --json status | python3 -c "import json,sys; d=json.load(sys.stdin)[\"drops\"]; print(\"drops:\", {k: v for k, v in d.items() if v})"
[ $status = 0 ] && echo "demo: help answered, both experts saw the officer's camera (ben at 360p), the recording verifies." ||
	echo "demo: FAILED" >&2
exit $status
