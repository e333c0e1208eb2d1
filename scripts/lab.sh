#!/usr/bin/env bash
# The test lab on one machine: network namespaces joined by a bridge, addresses in 198.18.0.0/15
# (the benchmarking range) only.
#
#   LAB-dut  caasd's side: veth "dut0", driven by DPDK (net_af_packet or net_af_xdp); no kernel
#            address on it, caasd answers ARP and ping itself at 198.18.0.1
#   LAB-cam  the cameras:  "cam0" 198.18.0.2/24 (more with --cams: 198.18.0.2..)
#   LAB-exp  the experts:  "exp0" 198.18.0.3/24
#   LAB-sw   a bridge joining the three
#
# usage: lab.sh up|down|status [LAB]     (LAB defaults to $CAAS_LAB or "caas")
#        lab.sh exec ROLE CMD...          run CMD in LAB-ROLE (ROLE: dut, cam, exp)
#        lab.sh netem ARGS...             tc netem on the camera's uplink, e.g. "loss 2%"
#
# Checksum offload is turned off on the kernel ends: DPDK's packet sockets would otherwise see
# UDP checksums the kernel left for a NIC that does not exist.
set -euo pipefail

LAB=${CAAS_LAB:-caas}
DUT_IP=198.18.0.1
CAM_IP=198.18.0.2
EXP_IP=198.18.0.3

ns() { echo "$LAB-$1"; }

up() {
	down 2>/dev/null || true
	for r in dut cam exp sw; do
		ip netns add "$(ns $r)"
		ip -n "$(ns $r)" link set lo up
	done
	ip -n "$(ns sw)" link add br0 type bridge
	ip -n "$(ns sw)" link set br0 up
	for r in dut cam exp; do
		ip link add "${r}0" netns "$(ns $r)" type veth peer name "sw-$r" netns "$(ns sw)"
		ip -n "$(ns sw)" link set "sw-$r" master br0 up
		ip netns exec "$(ns sw)" ethtool -K "sw-$r" tx off rx off >/dev/null 2>&1 || true
		ip netns exec "$(ns $r)" ethtool -K "${r}0" tx off rx off >/dev/null 2>&1 || true
		ip -n "$(ns $r)" link set "${r}0" up
	done
	ip -n "$(ns cam)" addr add $CAM_IP/24 dev cam0
	ip -n "$(ns exp)" addr add $EXP_IP/24 dev exp0
	# Receivers (FFmpeg, caas-replay) may ask for large socket buffers; the limit is global.
	[ "$(sysctl -n net.core.rmem_max)" -ge 33554432 ] || sysctl -qw net.core.rmem_max=33554432
	echo "lab $LAB up: caasd side $(ns dut)/dut0 ($DUT_IP), cameras $(ns cam) ($CAM_IP)," \
		"experts $(ns exp) ($EXP_IP)"
}

down() {
	for r in dut cam exp sw; do
		if ip netns list | grep -qw "$(ns $r)"; then
			ip netns pids "$(ns $r)" 2>/dev/null | xargs -r kill 2>/dev/null || true
			ip netns del "$(ns $r)"
		fi
	done
}

status() {
	for r in dut cam exp sw; do
		if ip netns list | grep -qw "$(ns $r)"; then
			echo "== $(ns $r)"
			ip -n "$(ns $r)" -br addr
		fi
	done
}

cmd=${1:-}
shift || true
case $cmd in
up | down | status)
	[ $# -gt 0 ] && LAB=$1
	$cmd
	;;
exec)
	role=$1
	shift
	exec ip netns exec "$(ns "$role")" "$@"
	;;
netem)
	ip netns exec "$(ns cam)" tc qdisc replace dev cam0 root netem "$@"
	;;
*)
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
