#!/usr/bin/env bash
# caasd against bad input, while a good H.264 stream (FFmpeg camera, 16 s 720p30) flows to an
# FFmpeg expert:
#   (a) RTP and RTCP to the device's ports from an address the device does not accept
#       (198.18.0.9, a second address on the camera's link): dropped, counted in
#       status drops.unknown_source, and the stream's source is untouched;
#   (b) malformed RTP to the device's port from the camera's own address (random bytes that
#       are not RTP, truncated headers, wrong version, CSRC count past the end, extension length
#       past the end, padding longer than the packet): counted in the stream's "malformed"
#       (stream show) and status drops.malformed_rtp; and RTP of the wrong payload type,
#       counted in the stream's wrong_pt;
#   (c) bad GTP-U to UDP 2152 ([ingest] gtpu = true): counted in status drops.gtpu;
#   (d) datagrams to ports with no device: counted in status drops.unknown_port;
# each counter rising by exactly what was sent, and the good stream going on: its packets keep
# increasing and the expert decodes >= 95% of the camera's frames, bit-exact. One TAP line
# per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

BAD_IP=198.18.0.9

# inject MODE DST-IP DST-PORT SRC-IP: send MODE's packets (1 ms apart) and print how many.
#   rtp        valid RTP (PT 96, SSRC 0x0badc0de), 200 packets
#   wrong_pt   valid RTP with payload type 97, 20 packets
#   rtcp       RTCP receiver reports, 20 packets
#   malformed  20 of each kind of broken RTP listed above, 120 packets
#   gtpu       10 of each kind of bad GTP-U, 90 packets
inject() {
	python3 - "$@" <<'EOF'
import random, socket, struct, sys, time

mode, dst, port, src = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rnd = random.Random(2152)

def rbytes(n):
    return bytes(rnd.getrandbits(8) for _ in range(n))

def rtp(seq, payload=b"\x41" * 100, v=2, p=0, x=0, cc=0, pt=96, ssrc=0x0BADC0DE):
    return struct.pack("!BBHII", v << 6 | p << 5 | x << 4 | cc, pt, seq & 0xFFFF, seq * 3000,
                       ssrc) + payload

def rtp_ok(b):
    """caasd's rtp_parse (dataplane/rtp/rtp.c): would it take b as RTP?"""
    if len(b) < 12 or b[0] >> 6 != 2:
        return False
    off = 12 + 4 * (b[0] & 15)
    if off > len(b):
        return False
    if b[0] & 0x10:
        if len(b) - off < 4:
            return False
        ext = 4 * struct.unpack("!H", b[off + 2:off + 4])[0]
        off += 4
        if ext > len(b) - off:
            return False
        off += ext
    if b[0] & 0x20 and (b[-1] == 0 or b[-1] > len(b) - off):
        return False
    return True

def gtpu(msg_type, body, flags=0x30, length=None, teid=1):
    return struct.pack("!BBHI", flags, msg_type, len(body) if length is None else length,
                       teid) + body

def ip4(proto, payload, src="198.18.0.2", dst="198.18.0.1"):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + payload

packets = []
if mode == "rtp":
    packets = [rtp(i) for i in range(200)]
elif mode == "wrong_pt":
    packets = [rtp(i, pt=97) for i in range(20)]
elif mode == "rtcp":
    packets = [struct.pack("!BBHI", 0x80, 201, 1, 0x0BADC0DE)] * 20
elif mode == "malformed":
    k = 20
    while len(packets) < k:  # random bytes that are not RTP
        b = rbytes(rnd.randrange(12, 200))
        if not rtp_ok(b):
            packets.append(b)
    packets += [rtp(i)[:rnd.randrange(1, 12)] for i in range(k)]  # truncated header
    packets += [rtp(i, v=(0, 1, 3)[i % 3]) for i in range(k)]  # wrong version
    packets += [rtp(i, cc=15, payload=b"\0" * 4 * (i % 15)) for i in range(k)]  # CSRCs past end
    packets += [rtp(i, x=1, payload=struct.pack("!HH", 0xBEDE, 0x4000 + i) + b"\0" * 8)
                for i in range(k)]  # extension length past the end
    packets += [rtp(i, p=1, payload=b"\0" * 20 + bytes([(0, 200)[i % 2]])) for i in range(k)]
    assert not any(rtp_ok(b) for b in packets)
elif mode == "gtpu":
    k = 10
    inner_udp = ip4(17, struct.pack("!HHHH", 5004, 5004, 20, 0) + rtp(1)[:12])
    while len(packets) < k:  # random bytes that are not GTP-U version 1 with PT set
        b = rbytes(rnd.randrange(8, 200))
        if b[0] >> 5 != 1 or not b[0] & 0x10:
            packets.append(b)
    packets += [gtpu(255, inner_udp)[:rnd.randrange(1, 8)] for _ in range(k)]  # truncated
    packets += [gtpu(255, inner_udp, flags=0x48) for _ in range(k)]  # GTPv2-C header
    packets += [gtpu(255, inner_udp, length=len(inner_udp) + 40) for _ in range(k)]  # too long
    packets += [gtpu(255, b"\x00" * 28) for _ in range(k)]  # G-PDU, inner not IP
    packets += [gtpu(255, inner_udp[:14]) for _ in range(k)]  # G-PDU, inner IPv4 truncated
    packets += [gtpu(255, ip4(1, b"\x08\0\0\0\0\0\0\0")) for _ in range(k)]  # inner ICMP
    packets += [gtpu(254, b"") for _ in range(k)]  # End Marker: nothing to forward
    packets += [gtpu(255, b"\x00\x00\x00\x85" + b"\x00" + inner_udp, flags=0x34)
                for _ in range(k)]  # extension header of length 0
else:
    sys.exit("unknown mode " + mode)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for b in packets:
    s.sendto(b, (dst, port))
    time.sleep(0.001)
print(len(packets))
EOF
}

caas_setup
file=$(clip h264-720p-16s h264 16) || bail "encode the 16 s test clip"
caasd_start || bail "caasd starts in $LAB-dut and answers on its control socket"
ffmpeg -nostdin -v error -i "$file" -fps_mode passthrough -f framemd5 "$work/ref.md5"
frames=$(md5_frames "$work/ref.md5")

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added (source $CAM_IP/32)"
id=$(ctl sub add cam1 --to "$EXP_IP:6000" --paused) || bail "subscription to $EXP_IP:6000"
expert_start exp "$id" 6000 || bail "the FFmpeg expert listens on UDP 6000"
exp_pid=$EXP_PID
ctl sub resume "$id" >/dev/null || bail "subscription $id resumed"
camera_start h264 "$file" 5004
cam=$CAM_PID
flowing() { [ "$(ctlj packets stream show cam1 2>/dev/null || echo 0)" -gt 50 ]; }
wait_for 5 flowing || bail "the camera's stream flows through caasd"
ssrc=$(ctlj ssrc stream show cam1)

# status drops.FIELD now
drop() { ctlj "drops.$1" status; }
# stream show cam1 FIELD now
stream() { ctlj "$1" stream show cam1; }

# (a) An address the device does not accept, on the camera's own link.
ip -n "$LAB-cam" addr add "$BAD_IP/24" dev cam0 || bail "add $BAD_IP to cam0"
before=$(drop unknown_source)
n_rtp=$(inns cam bash -c "$(declare -f inject); inject rtp $DUT_IP 5004 $BAD_IP")
n_rtcp=$(inns cam bash -c "$(declare -f inject); inject rtcp $DUT_IP 5005 $BAD_IP")
sleep 0.3
delta=$(($(drop unknown_source) - before))
check "RTP ($n_rtp) and RTCP ($n_rtcp) from $BAD_IP: drops.unknown_source +$delta" \
	"$delta" = $((n_rtp + n_rtcp))
check "the stream kept its source (SSRC $(stream ssrc), was $ssrc; ssrc_changes $(stream ssrc_changes))" \
	"$(stream ssrc)/$(stream ssrc_changes)" = "$ssrc/0"

# (b) Malformed RTP from the camera's own address.
before=$(stream malformed)
before_port=$(drop malformed_rtp)
packets=$(stream packets)
n_bad=$(inns cam bash -c "$(declare -f inject); inject malformed $DUT_IP 5004 $CAM_IP")
sleep 0.3
delta=$(($(stream malformed) - before))
check "malformed RTP ($n_bad) from $CAM_IP: stream show malformed +$delta" "$delta" = "$n_bad"
delta=$(($(drop malformed_rtp) - before_port))
check "status drops.malformed_rtp +$delta" "$delta" = "$n_bad"
check "the stream kept its source and numbering (SSRC, ssrc_changes, restarts)" \
	"$(stream ssrc)/$(stream ssrc_changes)/$(stream restarts)" = "$ssrc/0/0"

# (b') Well-formed RTP of another payload type, from the camera's address.
before=$(stream wrong_pt)
n_pt=$(inns cam bash -c "$(declare -f inject); inject wrong_pt $DUT_IP 5004 $CAM_IP")
sleep 0.3
delta=$(($(stream wrong_pt) - before))
check "RTP with payload type 97 ($n_pt) from $CAM_IP: stream show wrong_pt +$delta" \
	"$delta" = "$n_pt"

# (c) Bad GTP-U.
before=$(drop gtpu)
n_gtpu=$(inns cam bash -c "$(declare -f inject); inject gtpu $DUT_IP 2152 $CAM_IP")
sleep 0.3
delta=$(($(drop gtpu) - before))
check "bad GTP-U ($n_gtpu) to port 2152: drops.gtpu +$delta" "$delta" = "$n_gtpu"

# (d) Ports with no device.
before=$(drop unknown_port)
n1=$(inns cam bash -c "$(declare -f inject); inject rtp $DUT_IP 7000 $CAM_IP")
n2=$(inns cam bash -c "$(declare -f inject); inject rtcp $DUT_IP 5007 $CAM_IP")
sleep 0.3
delta=$(($(drop unknown_port) - before))
check "datagrams to ports 7000 and 5007, no device's ($((n1 + n2))): drops.unknown_port +$delta" \
	"$delta" = $((n1 + n2))

# The good stream went on.
sleep 0.5
check "the good stream keeps flowing (packets $packets -> $(stream packets)), state $(stream state)" \
	"$(stream packets)" -gt "$packets" -a "$(stream state)" = up
check "the port lost nothing (drops.rx_missed $(drop rx_missed))" "$(drop rx_missed)" = 0
wait_pid "$cam" 20
rc=$?
check "the camera sent its whole clip (FFmpeg status $rc)" $rc = 0
diag "cam1: $(ctl --json stream show cam1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(", ".join("%s %s" % (k, d[k]) for k in ("packets", "expected", "lost", "reordered", "late",
                                               "duplicates", "restarts", "keyframes")))')"
sleep 1
expert_stop "$exp_pid" 6000
rc=$?
check "the expert's FFmpeg ends cleanly (status $rc)" $rc = 0
got=$(md5_frames "$work/exp.md5")
same=$(same_frames "$work/ref.md5" "$work/exp.md5")
check "the expert decoded $same of the $frames frames bit-exact ($got decoded; >= 95%)" \
	"$(is "$same >= 0.95 * $frames and $same == $got")" = 1

caasd_stop_check
caas_done
