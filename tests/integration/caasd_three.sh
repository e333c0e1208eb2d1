#!/usr/bin/env bash
# A three-party session: an officer's camera (caas-replay, H.264), an inspector from pool
# "timber" and a valuer (the enterprise, pool "valuation") brought in with `help --with`. Each
# participant receives the others' media: both experts get the camera's video; the inspector's
# voice reaches the camera and the valuer, the valuer's reaches the camera and the inspector;
# when the session ends, the media stops.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

REPLAY=$root/build/caas-replay
caas_setup
clip=$MEDIA/replay-h264-360p-8s.mp4
make_clip h264 "$clip" 8 640x360 || bail "encode the test clip"
caasd_start || bail "caasd starts"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --talkback-port 7000 --record no >/dev/null &&
	ctl pool add timber >/dev/null && ctl pool add valuation >/dev/null &&
	ctl expert add inspector --pool timber --to "$EXP_IP:6000" --audio-from-port 6990 \
		--audio-to-port 6992 --auto-accept >/dev/null &&
	ctl expert add valuer --pool valuation --to "$EXP_IP:6100" --audio-from-port 7990 \
		--audio-to-port 7992 >/dev/null
check "device, two pools, two experts" $? = 0

inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
ip netns exec "$LAB-cam" "$REPLAY" send --to "$DUT_IP:5004" --input "$clip" --duration 10 \
	--quiet >"$work/send.out" 2>&1 &
cam=$!
BG_PIDS+=("$cam")
sleep 1
id=$(ctl help cam1 --pool timber --with valuer)
check "help cam1 --pool timber --with valuer (request ${id:-none})" -n "$id"
subs=$(ctl --json sub list)
n=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$subs")
check "two subscriptions: the inspector and the valuer ($n)" "$n" = 2

# Listeners: the camera's talk-back port, and each expert's voice port.
listen() { # NS PORT FILE
	ip netns exec "$LAB-$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(3)
got = {}
try:
    while True:
        data, src = s.recvfrom(2048)
        got[data[8:12].hex()] = got.get(data[8:12].hex(), 0) + 1
except socket.timeout:
    pass
print(" ".join("%s=%d" % kv for kv in sorted(got.items())))' "$2" >"$3" &
	BG_PIDS+=($!)
}
speak() { # FROM-PORT SSRC-HEX: 30 voice packets to caasd's device port
	inns exp python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(30):
    s.sendto(struct.pack("!BBHII", 0x80, 111, i, i * 960, int(sys.argv[3], 16)) + bytes(100),
             (sys.argv[4], 5004))
    time.sleep(0.01)' "$EXP_IP" "$1" "$2" "$DUT_IP"
}
listen cam 7000 "$work/camera.heard"
listen exp 6992 "$work/inspector.heard"
listen exp 7992 "$work/valuer.heard"
sleep 0.5
speak 6990 11111111
speak 7990 22222222
sleep 3.5
check "the camera hears both ($(cat "$work/camera.heard"))" \
	"$(cat "$work/camera.heard")" = "11111111=30 22222222=30"
check "the valuer hears the inspector only ($(cat "$work/valuer.heard"))" \
	"$(cat "$work/valuer.heard")" = "11111111=30"
check "the inspector hears the valuer only ($(cat "$work/inspector.heard"))" \
	"$(cat "$work/inspector.heard")" = "22222222=30"
subs=$(ctl --json sub list)
video=$(python3 -c 'import json,sys; print(" ".join(str(s["packets"] > 100) for s in json.load(sys.stdin)))' <<<"$subs")
check "both experts receive the camera's video ($video)" "$video" = "True True"

ctl help end "$id" >/dev/null
check "help end: the session's subscriptions are gone ($(ctl --json sub list))" \
	"$(ctl --json sub list)" = "[]"
stop_pid "$cam" 2
caasd_stop_check
caas_done
