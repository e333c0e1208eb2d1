#!/usr/bin/env bash
# caasd under packet loss: 2% of what the camera sends is lost on its way, while an FFmpeg
# camera streams 10 s of H.264 720p30. caasd must notice the gaps and ask for them (NACK; FFmpeg
# does not retransmit, so what is lost stays lost), and its loss figures must match what the
# link really dropped. The loss rate itself must come out between 1% and 3% (for ~3000
# packets, 2% gives 60 +- 8).
#
# The impairment is scripts/lab.sh netem ("loss 2%" on cam0 in LAB-cam), and the truth the
# netem qdisc's own counters (tc -s: packets sent and dropped; the few non-RTP packets it also
# carries, the camera's RTCP and IPv6 router solicitations, are far inside the tolerances).
# Kernels built without netem (CONFIG_NET_SCH_NETEM) get the same impairment from a relay in
# LAB-cam instead: the camera sends to it on loopback, and it forwards each RTP packet from the
# camera's address to caasd unless a seeded 2% draw drops it, counting exactly what it dropped.
# One TAP line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

# relay IN-PORT OUT-HOST OUT-PORT SRC-IP COUNTS-FILE: forward UDP from 127.0.0.1:IN-PORT (RTP)
# and IN-PORT+1 (RTCP, never dropped) to OUT-HOST:OUT-PORT(+1) from SRC-IP, dropping 2% of the
# RTP; ends 2 s after the last packet and writes "sent dropped" (RTP packets) to COUNTS-FILE.
relay() {
	python3 -c '
import random, select, socket, sys
in_port, host, out_port, src, counts = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rnd = random.Random(20261127)
ins, outs = [], []
for k in (0, 1):
    i = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    i.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    i.bind(("127.0.0.1", in_port + k))
    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    o.bind((src, 0))
    ins.append(i)
    outs.append(o)
sent = dropped = 0
started = False
while True:
    ready, _, _ = select.select(ins, [], [], 2.0 if started else 30.0)
    if not ready:
        break
    for k, i in enumerate(ins):
        if i in ready:
            data = i.recv(65536)
            started = True
            if k == 0 and rnd.random() < 0.02:
                dropped += 1
                continue
            outs[k].sendto(data, (host, out_port + k))
            sent += k == 0
with open(counts, "w") as f:
    print(sent, dropped, file=f)
' "$@"
}

caas_setup
file=$(clip h264-720p-10s h264 10) || bail "encode the 10 s test clip"
caasd_start || bail "caasd starts in $LAB-dut and answers on its control socket"

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
# Resolve caasd's MAC before the impairment, so that no ARP exchange is part of the count.
inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null

if lab netem loss 2% 2>"$work/netem.err"; then
	impairment=netem
	check "netem drops 2% on cam0 in $LAB-cam" \
		"$(inns cam tc qdisc show dev cam0 | grep -c 'netem.*loss 2%')" = 1
	camera_start h264 "$file" 5004
	wait_pid "$CAM_PID" 20
	rc=$?
else
	impairment=relay
	diag "no netem in this kernel ($(cat "$work/netem.err")): 2% loss by a relay in $LAB-cam"
	ip netns exec "$LAB-cam" bash -c "$(declare -f relay); relay 15004 $DUT_IP 5004 $CAM_IP \
		$work/relay.counts" 2>"$work/relay.err" &
	relay_pid=$!
	BG_PIDS+=("$relay_pid")
	wait_udp "$LAB-cam" 15004
	check "the lossy relay listens in $LAB-cam" $? = 0
	# The camera as camera_start would run it, to the relay.
	ip netns exec "$LAB-cam" ffmpeg -nostdin -v error -re -i "$file" -an -c copy \
		-bsf:v h264_mp4toannexb -f rtp -pkt_size 1200 rtp://127.0.0.1:15004 \
		>/dev/null 2>"$work/cam-5004.err" &
	CAM_PID=$!
	BG_PIDS+=("$CAM_PID")
	wait_pid "$CAM_PID" 20
	rc=$?
	wait_pid "$relay_pid" 10
	diag_file "$work/relay.err"
fi
check "the camera sent its whole clip (FFmpeg status $rc)" $rc = 0
diag_file "$work/cam-5004.err"
sleep 0.5 # the NACK retries for the last gaps

if [ $impairment = netem ]; then
	# "Sent 3461224 bytes 2989 pkt (dropped 61, overlimits 0 requeues 0)"
	read -r sent dropped < <(inns cam tc -s qdisc show dev cam0 |
		sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt (dropped \([0-9]*\),.*/\1 \2/p' | head -1)
else
	read -r sent dropped <"$work/relay.counts"
fi
sent=${sent:-0}
dropped=${dropped:-0}
total=$((sent + dropped))
true_pct=$(calc "100.0 * $dropped / max(1, $total)")
diag "$impairment: $total packets, $sent passed, $dropped dropped (${true_pct}%)"
check "the $impairment dropped packets ($dropped of $total)" "$dropped" -gt 0

show=$(ctl --json stream show cam1)
expected=$(jget expected <<<"$show")
lost=$(jget lost <<<"$show")
packets=$(jget packets <<<"$show")
loss_pct=$(jget loss_pct <<<"$show")
nacks=$(jget nacks_sent <<<"$show")
nack_seqs=$(jget nack_seqs_sent <<<"$show")
recovered=$(jget recovered <<<"$show")
diag "caasd: expected $expected, packets $packets, lost $lost ($loss_pct%)," \
	"nacks_sent $nacks for $nack_seqs sequence numbers, recovered $recovered"

check "stream show reports nacks_sent > 0 ($nacks)" "${nacks:-0}" -gt 0
check "every lost packet was asked for at least once (nack_seqs_sent $nack_seqs >= lost $lost)" \
	"${nack_seqs:-0}" -ge "${lost:-1}"
# caasd sees the sequence numbers from its first accepted packet to its last: what the link
# passed and dropped, less what it cannot know of (losses before the first or after the last).
check "expected ($expected) matches the RTP packets the camera sent ($total, +-2%)" \
	"$(is "abs(${expected:-0} - $total) <= 0.02 * $total")" = 1
check "lost ($lost) is what the link dropped ($dropped), within 10% + 3" \
	"$(is "abs(${lost:-0} - $dropped) <= 0.1 * $dropped + 3")" = 1
check "packets + lost = expected ($packets + $lost = $expected)" \
	"$((${packets:-0} + ${lost:-0}))" = "${expected:--1}"
check "loss_pct ($loss_pct%) is within 0.5 points of the link's real loss ($true_pct%)" \
	"$(is "abs(${loss_pct:-0} - $true_pct) <= 0.5")" = 1
check "loss_pct reported by stream show is between 1% and 3% ($loss_pct%)" \
	"$(is "1 <= ${loss_pct:-0} <= 3")" = 1

caasd_stop_check
caas_done
