#!/usr/bin/env bash
# An expert's RTCP towards caasd: a scripted expert (python3, real sockets in the experts'
# namespace) receives a stream, then sends caasd a compound RTCP packet as a real client would:
# a receiver report about caasd's SSRC (with LSR/DLSR from caasd's sender report), a generic NACK
# for packets it already had, and a PLI. caasd must answer the NACK from its cache (the same
# payloads arrive again, numbered as asked), forward the PLI to the camera (rate-limited), and
# show the expert's loss and round-trip time. One TAP line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
clip264=$(clip h264-720p-8s h264 8) || bail "encode the test clip"
caasd_start || bail "caasd starts"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null
check "device cam1 added" $? = 0
id=$(ctl sub add cam1 --to "$EXP_IP:7000" --rtcp-port 7001)
check "subscription to the scripted expert (id ${id:-none})" -n "$id"

# The expert: receive 2 s, then NACK three packets it has (seq n-30, n-20, n-10), a PLI and a
# receiver report; collect what comes back for 1.5 s. Writes a JSON summary.
ip netns exec "$LAB-exp" python3 - "$DUT_IP" 5005 "$work/expert.json" <<'PY' &
import json, socket, struct, sys, time
caasd, caasd_rtcp, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind(("0.0.0.0", 7000))
rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtcp.bind(("0.0.0.0", 7001))
rtp.settimeout(0.05); rtcp.settimeout(0.001)
got = {}            # seq -> payload
srs = []            # (ntp middle 32, arrival)
ssrc = None
def pump(until, dup_log=None):
    global ssrc
    while time.monotonic() < until:
        try:
            d, _ = rtp.recvfrom(2048)
            if len(d) >= 12:
                seq = struct.unpack(">H", d[2:4])[0]
                ssrc = struct.unpack(">I", d[8:12])[0]
                if dup_log is not None and seq in got:
                    dup_log.append((seq, d[12:] == got[seq]))
                got.setdefault(seq, d[12:])
        except socket.timeout:
            pass
        try:
            d, _ = rtcp.recvfrom(2048)
            if len(d) >= 28 and d[1] == 200:   # SR
                ntp_hi, ntp_lo = struct.unpack(">II", d[8:16])
                srs.append((((ntp_hi & 0xffff) << 16) | (ntp_lo >> 16), time.monotonic()))
        except socket.timeout:
            pass
pump(time.monotonic() + 2.5)
result = {"received": len(got), "srs": len(srs), "ssrc": ssrc}
if got and ssrc is not None:
    last = max(got)          # no wrap in a 3 s test from a random start is not guaranteed:
    seqs = sorted(got, key=lambda s: (s - last) & 0xffff)[-60:]
    ask = [seqs[-31], seqs[-21], seqs[-11]] if len(seqs) > 31 else []
    me = 0x45585031
    # RR about caasd's SSRC: 25/256 lost, 7 cumulative, LSR/DLSR from the last SR seen.
    lsr, dlsr = 0, 0
    if srs:
        lsr = srs[-1][0]
        dlsr = int((time.monotonic() - srs[-1][1]) * 65536)
    rr = struct.pack(">BBHI", 0x81, 201, 7, me)
    rr += struct.pack(">IB3sIIII", ssrc, 25, (7).to_bytes(3, "big"), (1 << 16) | last, 40, lsr, dlsr)
    nack = b""
    for s in ask:
        nack += struct.pack(">HH", s, 0)
    nack = struct.pack(">BBHII", 0x81, 205, 2 + len(ask), me, ssrc) + nack
    pli = struct.pack(">BBHII", 0x81, 206, 2, me, ssrc)
    dups = []
    rtcp.sendto(rr + nack + pli, (caasd, caasd_rtcp))
    pump(time.monotonic() + 1.5, dups)
    result.update(asked=ask, retransmitted=sorted({s for s, _ in dups}),
                  same_payload=all(ok for _, ok in dups) and bool(dups))
json.dump(result, open(out, "w"))
PY
exp=$!
BG_PIDS+=("$exp")
sleep 0.3
camera_start h264 "$clip264" 5004
cam=$CAM_PID
plis_before=$(ctlj plis_sent stream show cam1)
wait_pid "$exp" 15
check "the scripted expert finished" $? = 0
r=$(cat "$work/expert.json" 2>/dev/null || echo '{}')
diag "expert: $r"
received=$(jget received <<<"$r")
check "the expert received the stream (${received:-0} packets)" "${received:-0}" -gt 100
check "caasd sent the expert sender reports ($(jget srs <<<"$r"))" "$(jget srs <<<"$r")" -ge 1
asked=$(jget asked <<<"$r")
retx=$(jget retransmitted <<<"$r")
check "the three NACKed packets came again ($retx for $asked)" \
	"$(python3 -c 'import json,sys; print(sorted(json.loads(sys.argv[1]))==sorted(json.loads(sys.argv[2])))' "$asked" "$retx")" = True
check "... with the very same payloads" "$(jget same_payload <<<"$r")" = true

subs=$(ctl --json sub list)
check "sub list counts the NACK ($(jget "id=$id.nacks_in" <<<"$subs"))" \
	"$(jget "id=$id.nacks_in" <<<"$subs")" = 1
check "sub list counts 3 retransmissions ($(jget "id=$id.retransmits" <<<"$subs"))" \
	"$(jget "id=$id.retransmits" <<<"$subs")" = 3
check "sub list counts the PLI ($(jget "id=$id.plis_in" <<<"$subs"))" \
	"$(jget "id=$id.plis_in" <<<"$subs")" = 1
loss=$(jget "id=$id.loss_pct" <<<"$subs")
check "sub list shows the expert's reported loss, 25/256 = 9.77% ($loss)" \
	"$(is "9.7 < $loss < 9.8")" = 1
check "sub list shows the expert's cumulative loss, 7 ($(jget "id=$id.cumulative_lost" <<<"$subs"))" \
	"$(jget "id=$id.cumulative_lost" <<<"$subs")" = 7
rtt=$(jget "id=$id.rtt_ms" <<<"$subs")
check "sub list shows a round-trip time from LSR/DLSR, under 100 ms on one machine ($rtt)" \
	"$(is "0 <= $rtt < 100")" = 1
plis_after=$(ctlj plis_sent stream show cam1)
check "the PLI went upstream to the camera ($plis_before -> $plis_after)" \
	"${plis_after:-0}" -gt "${plis_before:-0}"
stop_pid "$cam" >/dev/null
caasd_stop_check
caas_done
