#!/usr/bin/env bash
# caas-replay end to end: 50 camera streams (caas-replay send, from a real H.264 clip, with the
# send-time extension) through caasd to two experts each (caas-replay recv, 100 streams); the
# receiver's report must show every stream received, loss below 1%, latency percentiles and
# first-keyframe times present; the sender's report must account for what it sent. One TAP
# line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

REPLAY=$root/build/caas-replay
N=50
caas_setup
[ -x "$REPLAY" ] || bail "build/caas-replay is built"
# 360p keeps 50 cameras and 100 experts within what two shared cores carry with room to spare.
clip=$MEDIA/replay-h264-360p-8s.mp4
make_clip h264 "$clip" 8 640x360 || bail "encode the test clip"
caasd_start 's|^fast_start_bytes = .*|fast_start_bytes = 1048576|' || bail "caasd starts"

ok=0
for ((i = 0; i < N; i++)); do
	ctl device add "cam$i" --port $((5004 + 2 * i)) --codec h264 --pt 96 --src "$CAM_IP/32" \
		>/dev/null &&
		ctl sub add "cam$i" --to "$EXP_IP:$((6000 + 4 * i))" >/dev/null &&
		ctl sub add "cam$i" --to "$EXP_IP:$((6002 + 4 * i))" >/dev/null && ok=$((ok + 1))
done
check "$N devices with two subscriptions each ($ok)" "$ok" = "$N"

ip netns exec "$LAB-exp" "$REPLAY" recv --listen "$EXP_IP:6000" --streams $((2 * N)) \
	--duration 14 --report "$work/recv.json" --quiet >"$work/recv.out" 2>"$work/recv.err" &
rx=$!
BG_PIDS+=("$rx")
wait_udp "$LAB-exp" 6000
inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
inns cam "$REPLAY" send --to "$DUT_IP:5004" --streams "$N" --input "$clip" --duration 8 \
	--seed 1 --report "$work/send.json" --quiet >"$work/send.out" 2>"$work/send.err"
check "caas-replay send exits 0" $? = 0
diag_file "$work/send.err"
wait_pid "$rx" 20
check "caas-replay recv exits 0" $? = 0
diag_file "$work/recv.err"

s=$(cat "$work/send.json" 2>/dev/null || echo '{}')
r=$(cat "$work/recv.json" 2>/dev/null || echo '{}')
sent=$(jget total.packets_sent <<<"$s")
check "the sender reports $N streams ($(jget streams <<<"$s" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null))" \
	"$(jget streams <<<"$s" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" = "$N"
check "the sender sent packets (${sent:-none})" "${sent:-0}" -gt $((N * 100))

summary=$(python3 - "$work/recv.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
st = r.get("streams", [])
got = [s for s in st if s.get("received") and s.get("packets", 0) > 0]
lat = [s for s in st if isinstance(s.get("latency_ms"), dict)
       and all(s["latency_ms"].get(k) is not None for k in ("p50", "p99", "p999", "max"))]
kf = [s for s in st if s.get("first_keyframe_ms") is not None]
t = r.get("total", {})
print(len(st), len(got), len(lat), len(kf), t.get("loss_ratio"), t.get("packets"),
      (t.get("latency_ms") or {}).get("p99"))
PY
)
read -r nstreams nrecv nlat nkf loss packets p99 <<<"${summary:-0 0 0 0 None 0 None}"
diag "receiver: $nstreams streams, $nrecv received, $nlat with latency, $nkf with a keyframe," \
	"loss $loss, $packets packets, p99 ${p99} ms"
check "the receiver reports $((2 * N)) streams ($nstreams)" "$nstreams" = $((2 * N))
check "every stream was received ($nrecv)" "$nrecv" = $((2 * N))
check "every stream has latency p50/p99/p99.9/max ($nlat)" "$nlat" = $((2 * N))
check "every stream saw a keyframe ($nkf)" "$nkf" = $((2 * N))
check "total loss below 1% ($loss)" "$(is "$loss is not None and $loss < 0.01")" = 1
check "the experts got about twice what the cameras sent ($packets of 2 x $sent)" \
	"$(is "${packets:-0} >= 1.98 * ${sent:-1}")" = 1
check "p99 latency is present and under 100 ms on one machine ($p99)" "$(is "0 < $p99 < 100")" = 1
up=$(ctl --json stream list | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s["packets"] > 0))')
check "caasd saw all $N streams ($up)" "$up" = "$N"
caasd_stop_check
caas_done
