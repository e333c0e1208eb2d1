#!/usr/bin/env bash
# Recording under load: 200 cameras from caas-replay (H.264 360p, 8 s, the send-time
# extension) into caasd with recording on (4-second chunks, so some 400 chunk seals, each with
# fsyncs and signed manifest lines, happen while packets keep coming). Every stream must be
# recorded whole: no recorder ring drop, no staging-buffer refusal, no per-stream drop, every
# accepted packet journaled; after a clean stop every manifest verifies and no .part is left.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

REPLAY=$root/build/caas-replay
N=200
caas_setup
[ -x "$REPLAY" ] || bail "build/caas-replay is built"
clip=$MEDIA/replay-h264-360p-8s.mp4
make_clip h264 "$clip" 8 640x360 || bail "encode the test clip"
# Each stream's cache holds about a GOP of mbufs: 200 streams need a larger pool than the lab's.
caasd_start 's|^segment_seconds *=.*|segment_seconds = 4|' 's|^mbufs *=.*|mbufs = 131072|' \
	's|^fast_start_bytes *=.*|fast_start_bytes = 1048576|' || bail "caasd starts"

ok=0
for ((i = 0; i < N; i++)); do
	ctl device add "cam$i" --port $((5004 + 2 * i)) --codec h264 --pt 96 --src "$CAM_IP/32" \
		>/dev/null && ok=$((ok + 1))
done
check "$N devices, each recorded ($ok)" "$ok" = "$N"

inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
inns cam "$REPLAY" send --to "$DUT_IP:5004" --streams "$N" --input "$clip" --duration 8 \
	--seed 1 --report "$work/send.json" --quiet >"$work/send.out" 2>"$work/send.err"
check "caas-replay send exits 0" $? = 0
sleep 1 # the recorder drains its ring

st=$(ctl --json status)
streams=$(ctl --json stream list)
recs=$(ctl --json record list)
sent=$(jget total.packets_sent <"$work/send.json")
summary=$(python3 - "$streams" "$recs" <<'PY'
import json, sys
streams = {s["name"]: s for s in json.loads(sys.argv[1])}
recs = {r["name"]: r for r in json.loads(sys.argv[2])}
on = sum(1 for r in recs.values() if r.get("state") == "on")
dropped = sum(r.get("dropped", 0) for r in recs.values())
short = [n for n, s in streams.items() if recs.get(n, {}).get("packets", 0) < s["packets"]]
rx = sum(s["packets"] for s in streams.values())
jn = sum(r.get("packets", 0) for r in recs.values())
print(on, dropped, len(short), rx, jn, sum(1 for s in streams.values() if s["packets"] > 0))
PY
)
read -r on dropped short rx jn flowing <<<"${summary:-0 x x 0 0 0}"
diag "sent $sent, caasd accepted $rx, journaled $jn (RTP and the cameras' RTCP)"
diag "caasd drops: $(jget drops <<<"$st"), rx $(jget rx_packets <<<"$st")"
check "all $N streams flowed ($flowing)" "$flowing" = "$N"
check "caasd accepted what was sent ($rx of ${sent:-?})" "$(is "$rx >= 0.999 * ${sent:-1}")" = 1
check "all $N recordings on ($on)" "$on" = "$N"
check "no recorder ring drop ($(jget record.ring_drops <<<"$st"))" \
	"$(jget record.ring_drops <<<"$st")" = 0
check "no staging buffer ever refused ($(jget record.bufs_exhausted <<<"$st"))" \
	"$(jget record.bufs_exhausted <<<"$st")" = 0
check "no stream dropped a packet ($dropped)" "$dropped" = 0
check "every accepted packet journaled (streams short: $short)" "$short" = 0
check "no I/O error ($(jget record.io_errors <<<"$st"))" "$(jget record.io_errors <<<"$st")" = 0
diag "seals $(jget record.seals <<<"$st"), slowest $(jget record.seal_ms_max <<<"$st") ms," \
	"$(jget record.bytes_written <<<"$st") bytes written"

caasd_stop_check
left=$(find "$work/rec" -name '*.part' | wc -l)
check "a clean stop seals everything (no .part: $left)" "$left" = 0
bad=0
for ((i = 0; i < N; i++)); do
	ctl record verify "$work/rec/cam$i" >/dev/null 2>&1 || bad=$((bad + 1))
done
check "all $N manifests verify ($bad failed)" "$bad" = 0
caas_done
