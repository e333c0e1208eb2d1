#!/usr/bin/env bash
# One-command set-up for CAAS Edge on Debian 12: packages, hugepages, hugetlbfs and bpffs.
# Idempotent: safe to run any number of times; prints what it did and what it left as it was.
#   HUGEPAGES=N   number of 2 MiB hugepages to reserve (default 512; 0 leaves them alone)
#   SKIP_APT=1    do not touch packages (for a machine that is known to be complete)
set -euo pipefail

HUGEPAGES=${HUGEPAGES:-512}

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: must run as root (packages, hugepages, mounts)" >&2
	exit 1
fi

# Build, test and demo dependencies. Keep this list the single source of truth.
PKGS=(
	build-essential pkg-config clang llvm lld libclang-rt-14-dev
	libdpdk-dev dpdk
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
	liburing-dev libbpf-dev bpftool libelf-dev zlib1g-dev
	libssl-dev libjansson-dev libmicrohttpd-dev libinih-dev libsrtp2-dev libpcap-dev
	libcmocka-dev prometheus
	gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
	iproute2 iputils-ping arping ethtool tcpdump procps kmod net-tools time
	python3
)

if [ "${SKIP_APT:-0}" != 1 ]; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${#missing[@]} packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		say "all ${#PKGS[@]} packages already installed"
	fi
fi

# Hugepages for DPDK mempools.
if [ "$HUGEPAGES" -gt 0 ]; then
	nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	have=$(cat "$nr" 2>/dev/null || echo 0)
	if [ "$have" -lt "$HUGEPAGES" ]; then
		echo "$HUGEPAGES" >"$nr"
		say "reserved $(cat "$nr") x 2 MiB hugepages (asked for $HUGEPAGES, had $have)"
	else
		say "hugepages: $have x 2 MiB already reserved"
	fi
fi

if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
	say "mounted hugetlbfs on /dev/hugepages"
else
	say "hugetlbfs already mounted"
fi

if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	say "mounted bpffs on /sys/fs/bpf"
else
	say "bpffs already mounted"
fi
