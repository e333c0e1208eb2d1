#!/usr/bin/env bash
# caasd's configuration is checked before anything starts: every bad key or value stops start-up
# with FILE:LINE: message and a non-zero exit; caasctl fails clearly without a daemon.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# check() and the TAP counters (defines functions only; sets root, work: source first)
. "$root/tests/integration/caasd_lib.sh"
caasd=$root/build/caasd
caasctl=$root/build/caasctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT


# bad_config NAME LINE EXPECTED-MESSAGE CONTENT: caasd --check must exit 1 and say FILE:LINE: msg
bad_config() {
	local name=$1 line=$2 msg=$3 f=$work/$1.conf
	printf '%b' "$4" >"$f"
	out=$("$caasd" --check -c "$f" 2>&1)
	rc=$?
	check "$name: exit status 1 (got $rc)" "$rc" = 1
	check "$name: says '$f:$line: $msg' (got '$out')" "$out" = "caasd: $f:$line: $msg"
}

good=$work/good.conf
cp "$root/conf/caasd.conf" "$good"
out=$("$caasd" --check -c "$good" 2>&1)
check "the shipped configuration is valid ($out)" $? = 0

bad_config unknown-key 3 "unknown key [dataplane] colour" \
	'[dataplane]\nport = net_null0\ncolour = blue\n'
bad_config unknown-section 2 "unknown key [dataplan] port" '[dataplan]\nport = net_null0\n'
bad_config out-of-range 2 "[dataplane] burst: 999 is out of range 1..256" \
	'[dataplane]\nburst = 999\n'
bad_config not-a-number 3 "[rtcp] nack_retries: 'three' is not a number" \
	'[rtcp]\nnack = true\nnack_retries = three\n'
bad_config negative 2 "[dataplane] mbufs: '-5' is not a number" '[dataplane]\nmbufs = -5\n'
bad_config bad-bool 2 "[ingest] gtpu: 'maybe' is not true or false" '[ingest]\ngtpu = maybe\n'
bad_config not-pow2 2 "[cache] packets: 1000 is not a power of two" '[cache]\npackets = 1000\n'
bad_config bad-ip 2 "[dataplane] ip: '198.18.0.300/24' is not ADDRESS/PREFIX (IPv4 or IPv6)" \
	'[dataplane]\nip = 198.18.0.300/24\n'
bad_config no-prefix 2 "[dataplane] ip: '198.18.0.1' is not ADDRESS/PREFIX (IPv4 or IPv6)" \
	'[dataplane]\nip = 198.18.0.1\n'
bad_config two-v4 2 "[dataplane] ip: more than one address of a family in '198.18.0.1/24, 198.18.0.2/24'" \
	'[dataplane]\nip = 198.18.0.1/24, 198.18.0.2/24\n'
bad_config syntax 2 "syntax error" '[dataplane]\nthis line has no equals sign\n'
bad_config bad-size 3 "[record] reserve: '5X' is not a size (bytes, or with K, M, G, T)" \
	'[record]\nretention_size = 500G\nreserve = 5X\n'
bad_config bad-age 2 "[record] retention_age: '3w' is not an age (seconds, or with s, m, h, d)" \
	'[record]\nretention_age = 3w\n'
bad_config bad-alg 2 "[record] alg: 'rsa' is not ed25519 or sm2-sm3" '[record]\nalg = rsa\n'
bad_config fsync-range 2 "[record] fsync_ms: 1 is out of range 10..60000" '[record]\nfsync_ms = 1\n'
bad_config bad-bridge 3 "[transcode] join_bridge: 'sometimes' is not no, auto or yes" \
	'[transcode]\nworkers = 2\njoin_bridge = sometimes\n'
bad_config workers-range 2 "[transcode] workers: 65 is out of range 0..64" '[transcode]\nworkers = 65\n'
bad_config tc-ring 2 "[transcode] ring: 1000 is not a power of two" '[transcode]\nring = 1000\n'

printf '[dataplane]\nip = 198.18.0.1/24, 2001:2::1/64\ngateway = 198.18.0.254\n' >"$work/dual.conf"
out=$("$caasd" --check -c "$work/dual.conf" 2>&1)
check "IPv4 and IPv6 addresses with a gateway are accepted ($out)" $? = 0
printf '[dataplane]\nip = 2001:2::1/64\ngateway = 198.18.0.254\n' >"$work/gw.conf"
out=$("$caasd" --check -c "$work/gw.conf" 2>&1)
check "an IPv4 gateway without an IPv4 address is refused ($out)" \
	"$out" = "caasd: $work/gw.conf: [dataplane] gateway is IPv4 but ip has no IPv4 address"
out=$("$caasd" --check -c "$work/missing.conf" 2>&1)
check "a missing file is named ($out)" "$out" = "caasd: $work/missing.conf: No such file or directory"

# A port that does not exist fails start-up cleanly (after EAL), with a message.
printf '[dataplane]\nport = net_af_packet0,iface=no-such-if\nip = 198.18.0.1/24\n[mgmt]\nsocket = %s\n' \
	"$work/s.sock" >"$work/noport.conf"
out=$(timeout 30 "$caasd" -c "$work/noport.conf" 2>&1)
rc=$?
check "a port that cannot be opened stops start-up with status 1 (got $rc)" "$rc" = 1
check "... and says which port ($(tail -n 1 <<<"$out"))" \
	"$(grep -c 'port net_af_packet0,iface=no-such-if' <<<"$out")" -ge 1
check "... and leaves no control socket behind" ! -e "$work/s.sock"

out=$("$caasctl" -s "$work/nobody.sock" status 2>&1)
rc=$?
check "caasctl without a daemon exits 1 (got $rc)" "$rc" = 1
check "... naming the socket ($out)" "$(grep -c "$work/nobody.sock" <<<"$out")" = 1
"$caasctl" -s "$work/nobody.sock" device add 2>/dev/null
check "caasctl usage error exits 2" $? = 2
exit $failed
