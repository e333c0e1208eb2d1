#!/usr/bin/env bash
# caasd's own L2/L3 on its DPDK port: it resolves an expert it has never heard from by ARP and
# sends it the stream; it answers ARP and ping for 198.18.0.1 from the cameras' and the
# experts' namespaces, with the MAC "caasctl status" reports; and it does not answer for an
# address that is not its own. One TAP line per check.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

# count_rtp NS-ROLE PORT SECONDS OUT: in the background, count the datagrams arriving on
# PORT for SECONDS, writing "COUNT SOURCE-IP:PORT" to OUT. Sets RX_PID.
count_rtp() {
	ip netns exec "$LAB-$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
n, src = 0, "-"
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        break
    if len(data) >= 12 and data[0] >> 6 == 2:
        n += 1
        src = "%s:%d" % addr
with open(sys.argv[3], "w") as f:
    print(n, src, file=f)
' "$2" "$3" "$4" &
	RX_PID=$!
	BG_PIDS+=("$RX_PID")
	wait_udp "$LAB-$1" "$2"
}

# neigh_mac ROLE: the MAC the namespace's kernel has for caasd's address, lower case.
neigh_mac() {
	ip -n "$LAB-$1" neigh show "$DUT_IP" | sed -n 's/.* lladdr \([0-9a-fA-F:]*\).*/\1/p' |
		tr 'A-F' 'a-f'
}

caas_setup
file=$(clip h264-720p-8s h264 8) || bail "encode the 8 s test clip"
caasd_start || bail "caasd starts in $LAB-dut and answers on its control socket"
mac=$(ctlj port.mac status | tr 'A-F' 'a-f')
check "status reports the port's MAC ($mac)" -n "$mac"
check "status reports the port's address ($(ctlj port.ip status))" "$(ctlj port.ip status)" = "$DUT_IP"

# The expert has sent caasd nothing yet: caasd must find it by ARP to send it the stream.
check "the expert's namespace has not talked to caasd yet (no neighbour entry)" \
	-z "$(neigh_mac exp)"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null ||
	bail "device cam1 added"
count_rtp exp 6000 4 "$work/rx.txt" || bail "the expert's receiver listens on UDP 6000"
id=$(ctl sub add cam1 --to "$EXP_IP:6000")
check "subscription to $EXP_IP:6000 (id ${id:-none})" -n "$id"
arp_in=$(ctlj control_packets.arp_in status)
camera_start h264 "$file" 5004
wait_pid "$RX_PID" 8
read -r got from <"$work/rx.txt"
check "the expert received the stream from caasd ($got RTP packets from $from)" \
	"${got:-0}" -gt 0 -a "$from" = "$DUT_IP:5004"
sent=$(ctlj "id=$id.packets" sub list)
check "sub list: the subscription sent packets ($sent)" "${sent:-0}" -gt 0
check "status: no drops.unresolved ($(ctlj drops.unresolved status))" \
	"$(ctlj drops.unresolved status)" = 0
check "status: no drops.neigh_queue ($(ctlj drops.neigh_queue status))" \
	"$(ctlj drops.neigh_queue status)" = 0
check "caasd heard ARP (control_packets.arp_in $arp_in -> $(ctlj control_packets.arp_in status))" \
	"$(ctlj control_packets.arp_in status)" -gt "$arp_in"
check "the expert's kernel learnt caasd's MAC from caasd's ARP request ($(neigh_mac exp))" \
	"$(neigh_mac exp)" = "$mac"

# ARP and ping from both sides.
echo_before=$(ctlj control_packets.icmp_echo status)
for role in cam exp; do
	ip -n "$LAB-$role" neigh flush dev "${role}0" >/dev/null 2>&1
	out=$(inns "$role" ping -c 3 -i 0.2 -W 2 "$DUT_IP" 2>&1)
	check "ping -c 3 $DUT_IP from $LAB-$role succeeds" $? = 0
	check "$LAB-$role: 3 replies ($(echo "$out" | grep -o '[0-9]* received'))" \
		"$(echo "$out" | grep -c 'bytes from 198.18.0.1')" = 3
	check "$LAB-$role: ip neigh has caasd's MAC for $DUT_IP ($(neigh_mac "$role") = $mac)" \
		"$(neigh_mac "$role")" = "$mac"
	out=$(inns "$role" ping -c 2 -i 0.2 -W 2 -s 1400 "$DUT_IP" 2>&1)
	check "$LAB-$role: ping with 1400-byte payloads succeeds" $? = 0
done
echo_after=$(ctlj control_packets.icmp_echo status)
check "status counts the echo requests it answered ($echo_before -> $echo_after, +10)" \
	$((echo_after - echo_before)) = 10
replies=$(ctlj control_packets.arp_replies status)
check "status counts ARP replies ($replies)" "${replies:-0}" -ge 2

# Not its address: no ARP answer.
inns cam ping -c 1 -W 1 198.18.0.77 >/dev/null 2>&1
check "no answer for 198.18.0.77, which is not caasd's" $? != 0
check "no neighbour entry with caasd's MAC for 198.18.0.77" \
	"$(ip -n "$LAB-cam" neigh show 198.18.0.77 | grep -ci "$mac")" = 0

stop_pid "$CAM_PID"
caasd_stop_check
caas_done
