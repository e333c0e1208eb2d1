#!/usr/bin/env bash
# A camera behind a 5G core, seen on the N3 interface: its RTP arrives inside GTP-U G-PDUs (with
# the PDU session container a gNB adds) on UDP 2152. caasd decapsulates, classifies the inner
# packet by its own addresses and ports, keeps the TEID on the stream, forwards to an expert,
# and answers GTP-U echo requests. The scripted gNB is python3 with real sockets in the cameras'
# namespace. One TAP line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
caasd_start || bail "caasd starts"
check "the lab configuration decapsulates GTP-U" "$(grep -c '^gtpu = true' "$work/caasd.conf")" = 1
ctl device add cam5g --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null
check "device cam5g added" $? = 0
id=$(ctl sub add cam5g --to "$EXP_IP:7100")

# The expert counts what it gets.
ip netns exec "$LAB-exp" python3 - "$work/expert.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7100)); s.settimeout(0.2)
n, end = 0, time.monotonic() + 4
while time.monotonic() < end:
    try:
        d, _ = s.recvfrom(2048)
        n += len(d) >= 12 and d[0] >> 6 == 2
    except socket.timeout:
        pass
open(sys.argv[1], "w").write(str(n))
PY
exp=$!
BG_PIDS+=("$exp")
wait_udp "$LAB-exp" 7100

# The gNB: 300 RTP packets (a keyframe start, then slices) in G-PDUs with TEID 0x1234abcd and
# QFI 9, then an echo request; records whether the echo response came back.
inns cam python3 - "$DUT_IP" "$CAM_IP" "$work/gnb.txt" <<'PY'
import socket, struct, sys, time
dut, cam, out = sys.argv[1], sys.argv[2], sys.argv[3]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip4(a): return socket.inet_aton(a)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((cam, 2152)); s.settimeout(1)
for i in range(300):
    fu = bytes([0x7c, 0x85 if i == 0 else (0x45 if i % 10 == 9 else 0x05)])
    rtp = struct.pack(">BBHII", 0x80, 96 | (0x80 if i % 10 == 9 else 0), 1000 + i,
                      (i // 10) * 3000, 0xc0ffee) + fu + bytes(1000)
    udp = struct.pack(">HHHH", 40000, 5004, 8 + len(rtp), 0) + rtp
    hdr = struct.pack(">BBHHHBBBB4s4s", 0x45, 0, 20 + len(udp), i, 0x4000, 64, 17, 0, 0,
                      ip4(cam), ip4(dut))
    hdr = hdr[:10] + struct.pack(">H", csum(hdr)) + hdr[12:]
    inner = hdr + udp
    ext = bytes([1, 0x10, 0x09, 0])           # PDU session container: UL, QFI 9; no next
    gtp = struct.pack(">BBHIHBB", 0x34, 255, 4 + len(ext) + len(inner), 0x1234abcd, 0, 0, 0x85)
    s.sendto(gtp + ext + inner, (dut, 2152))
    time.sleep(0.005)
s.sendto(struct.pack(">BBHIHBB", 0x32, 1, 4, 0, 4242, 0, 0), (dut, 2152))   # echo request
try:
    d, _ = s.recvfrom(2048)
    ok = len(d) >= 12 and d[1] == 2 and struct.unpack(">H", d[8:10])[0] == 4242
except socket.timeout:
    ok = False
open(out, "w").write("echo-ok" if ok else "echo-missing")
PY
wait_pid "$exp" 10
st=$(ctl --json stream show cam5g)
check "the stream counts the 300 decapsulated packets ($(jget packets <<<"$st"))" \
	"$(jget packets <<<"$st")" = 300
check "the stream is marked as arriving over GTP-U ($(jget gtpu <<<"$st"))" \
	"$(jget gtpu <<<"$st")" = true
check "the stream keeps the TEID, 0x1234abcd ($(jget teid <<<"$st"))" \
	"$(jget teid <<<"$st")" = $((0x1234abcd))
check "the expert received the inner RTP ($(cat "$work/expert.txt" 2>/dev/null) packets)" \
	"$(cat "$work/expert.txt" 2>/dev/null || echo 0)" -ge 290
check "a GTP-U echo request is answered ($(cat "$work/gnb.txt" 2>/dev/null))" \
	"$(cat "$work/gnb.txt" 2>/dev/null)" = echo-ok
check "status counts the echo ($(ctlj control_packets.gtpu_echo status))" \
	"$(ctlj control_packets.gtpu_echo status)" = 1
check "no GTP-U drops ($(ctlj drops.gtpu status))" "$(ctlj drops.gtpu status)" = 0
[ -n "$id" ] && ctl sub del "$id" >/dev/null
caasd_stop_check
caas_done
