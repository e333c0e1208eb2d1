#!/usr/bin/env bash
# caasd's Prometheus page ([mgmt] metrics, 127.0.0.1:9464 in the dut namespace): two devices, an
# FFmpeg camera sending to one of them (which has a subscription), two scrapes two seconds apart
# from inside the namespace. Checks: 200 with the exposition content type; promtool accepts each
# page as it stands; the flowing device's packet counter, and the sum over its subscription, rise
# between scrapes and are at least what caasctl showed just before the second; caas_streams
# counts it up and the other down; the recorder's bytes rise; caas_port_drops_total has exactly
# the reasons caasctl status lists; other paths get 404, other methods 405; pages stay whole while
# devices and subscriptions come and go. Restarted with metrics_devices = 1 (the two devices come
# back from the state file), the page has no per-device series and caas_metrics_devices_truncated
# is 1. With the metrics port taken, caasd refuses to start and says why.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

METRICS=127.0.0.1:9464

# scrape FILE [PATH [METHOD]]: fetch http://$METRICS/PATH (metrics) from inside LAB-dut into
# FILE; prints "STATUS CONTENT-TYPE" (status 000 when nothing answered).
scrape() {
	local out=$1 path=${2:-metrics} method=${3:-GET}
	if command -v curl >/dev/null; then
		inns dut curl -s -m 5 -X "$method" -o "$out" -w '%{http_code} %{content_type}' \
			"http://$METRICS/$path"
	else
		inns dut python3 - "http://$METRICS/$path" "$out" "$method" <<'EOF'
import sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1], method=sys.argv[3])
try:
    r = urllib.request.urlopen(req, timeout=5)
except urllib.error.HTTPError as e:
    r = e
except OSError:
    print("000 ")
    sys.exit()
open(sys.argv[2], "wb").write(r.read())
print(r.status, r.headers.get("Content-Type", ""))
EOF
	fi
}

# metric FILE SERIES: the value of one series, written as on the page (name{labels}); nothing
# when the page lacks it.
metric() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# promtool_ok FILE: promtool accepts the page: status 0 and nothing said (not even a lint
# warning). Prints what it said otherwise.
promtool_ok() {
	local said rc
	said=$(promtool check metrics <"$1" 2>&1)
	rc=$?
	[ $rc = 0 ] && [ -z "$said" ] && return 0
	diag "promtool (status $rc): $said"
	return 1
}

caas_setup
command -v promtool >/dev/null || bail "promtool is installed (scripts/setup.sh)"
clip264=$(clip h264-720p-16s h264 16) || bail "encode the 16 s test clip"
caasd_start || bail "caasd starts in $LAB-dut with [mgmt] metrics = $METRICS"

ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null &&
	ctl device add cam2 --port 5008 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null
check "two devices added" $? = 0
camera_start h264 "$clip264" 5004
# shellcheck disable=SC2317 # called through wait_for
up() { [ "$(ctlj state stream show cam1)" = up ]; }
wait_for 10 up
check "cam1 is up in caasctl ($(ctlj state stream show cam1))" "$(ctlj state stream show cam1)" = up
sid=$(ctl sub add cam1 --to "$EXP_IP:6000")
check "a subscription to cam1 (id ${sid:-none})" -n "$sid"
sleep 1 # a first sync or two in the recorder

p1=$work/scrape1.prom
p2=$work/scrape2.prom
got=$(scrape "$p1")
check "GET /metrics: 200 with the exposition content type ($got)" \
	"$got" = "200 text/plain; version=0.0.4; charset=utf-8"
promtool_ok "$p1"
check "promtool check metrics accepts the first page ($(wc -l <"$p1") lines)" $? = 0
sleep 2
shown=$(ctlj packets stream show cam1)
sub_shown=$(ctlj "id=$sid.packets" sub list)
got=$(scrape "$p2")
check "second scrape: 200 ($got)" "${got%% *}" = 200
promtool_ok "$p2"
check "promtool check metrics accepts the second page" $? = 0
diag "page: $(grep -vc '^#' "$p2") samples in $(grep -c '^# TYPE' "$p2") families"

# m1 SERIES, m2 SERIES: its value in the first, the second page.
m1() { metric "$p1" "$1"; }
m2() { metric "$p2" "$1"; }

a=$(m1 'caas_stream_packets_total{device="cam1"}')
b=$(m2 'caas_stream_packets_total{device="cam1"}')
check "cam1's packet counter rises between scrapes (${a:-missing} -> ${b:-missing})" \
	"${a:-0}" -gt 0 -a "${b:-0}" -gt "${a:-0}"
check "... and is at least what stream show reported just before (${b:-missing} >= ${shown:-?})" \
	"${b:-0}" -ge "${shown:-1}" -a "${shown:-0}" -gt 0
a=$(m2 'caas_stream_packets_total{device="cam2"}')
check "cam2 has its series too, with no packets (${a:-missing})" "$a" = 0
a=$(m1 'caas_subscriber_packets_total{device="cam1"}')
b=$(m2 'caas_subscriber_packets_total{device="cam1"}')
check "cam1's subscription packets rise ($a -> $b), >= what sub list said (${sub_shown:-?})" \
	"${b:-0}" -gt "${a:-0}" -a "${b:-0}" -ge "${sub_shown:-1}" -a "${sub_shown:-0}" -gt 0
a=$(m2 'caas_subscriber_packets_total{device="cam2"}')
check "cam2's subscription sum is there, and 0 (${a:-missing})" "$a" = 0
a="$(m2 'caas_stream_subscribers{device="cam1"}') $(m2 'caas_stream_subscribers{device="cam2"}')"
check "caas_stream_subscribers: cam1 1, cam2 0 ($a)" "$a" = "1 0"
a=$(m2 'caas_streams{state="up"}')
check "caas_streams{state=\"up\"} is 1 while the camera sends (${a:-missing})" "$a" = 1
a=$(m2 'caas_streams{state="down"}')
check "caas_streams{state=\"down\"} is 1: cam2 (${a:-missing})" "$a" = 1
a="$(m2 caas_devices) $(m2 caas_subscribers) $(m2 caas_metrics_devices_truncated)"
check "caas_devices 2, caas_subscribers 1, caas_metrics_devices_truncated 0 ($a)" "$a" = "2 1 0"
a=$(m2 'caas_stream_jitter_seconds{device="cam1"}')
check "cam1's jitter in seconds, under 0.1 (${a:-missing})" "$(is "0 <= ${a:--1} < 0.1")" = 1

a=$(m1 caas_record_bytes_written_total)
b=$(m2 caas_record_bytes_written_total)
check "the recorder's bytes rise (${a:-missing} -> ${b:-missing})" "${b:-0}" -gt "${a:-0}"
a=$(m1 caas_record_fsync_seconds_count)
b=$(m2 caas_record_fsync_seconds_count)
check "fdatasync latencies are counted as they happen (${a:-missing} -> ${b:-missing})" \
	"${b:-0}" -gt "${a:-0}"
a=$(m1 'caas_record_packets_total{device="cam1"}')
b=$(m2 'caas_record_packets_total{device="cam1"}')
check "cam1's journaled packets rise (${a:-missing} -> ${b:-missing})" "${b:-0}" -gt "${a:-0}"
a=$(m2 'caas_record_dropped_total{device="cam1"}')
check "cam1 dropped nothing for the recorder (${a:-missing})" "$a" = 0
a="$(m2 'caas_record_alarm{kind="disk"}') $(m2 'caas_record_alarm{kind="io"}')"
check "no recorder alarm, disk or io ($a)" "$a" = "0 0"

a=$(m1 'caas_port_rx_packets_total{port="0"}')
b=$(m2 'caas_port_rx_packets_total{port="0"}')
check "port 0's received packets rise (${a:-missing} -> ${b:-missing})" "${b:-0}" -gt "${a:-0}"
# Every reason status lists, no more, no fewer.
want=$(ctl --json status | python3 -c '
import json, sys; print(" ".join(sorted(json.load(sys.stdin)["drops"])))')
have=$(sed -n 's/^caas_port_drops_total{port="0",reason="\([a-z0-9_]*\)"} [0-9]*$/\1/p' "$p2" |
	sort | tr '\n' ' ' | sed 's/ $//')
check "caas_port_drops_total: the reasons in status ($(wc -w <<<"$have") of $(wc -w <<<"$want"))" \
	"$have" = "$want"
check "... including rx_missed" -n "$(m2 'caas_port_drops_total{port="0",reason="rx_missed"}')"
ver=$(ctlj version status)
check "caas_info carries caasd's version ($ver)" "$(m2 "caas_info{version=\"$ver\"}")" = 1
a=$(m2 caas_uptime_seconds)
check "caas_uptime_seconds counts from caasd's start (${a:-missing} > 2)" "$(is "${a:-0} > 2")" = 1
a=$(m2 'caas_control_packets_total{kind="arp_in"}')
check "caas_control_packets_total counts the camera's ARP (${a:-missing})" "${a:-0}" -ge 1
a=$(m2 'caas_mbufs_in_use{pool="packets"}')
check "caas_mbufs_in_use for the packet pool is positive (${a:-missing})" "${a:-0}" -gt 0
a=$(m2 'caas_lcore_idle_loops_total{lcore="dataplane"}')
check "the dataplane's idle loops are counted (${a:-missing})" "${a:-0}" -gt 0

got=$(scrape "$work/other" other)
check "GET /other: 404 (${got%% *})" "${got%% *}" = 404
got=$(scrape "$work/post" metrics POST)
check "POST /metrics: 405 (${got%% *})" "${got%% *}" = 405

# Scrapes back to back while devices and subscriptions come and go: each page must be whole
# (the registry lock keeps what it walks from being freed under it) and caasd must stay up.
ip netns exec "$LAB-dut" python3 - "http://$METRICS/metrics" "$work/churn.done" \
	>"$work/churn.out" 2>&1 <<'EOF' &
import collections, os, sys, time, urllib.request
seen = collections.Counter()
end = time.time() + 60
while not os.path.exists(sys.argv[2]) and time.time() < end:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
            body = r.read().decode()
            ok = r.status == 200 and body.endswith("\n") and "caas_record_alarm" in body
            seen["whole" if ok else "partial"] += 1
    except Exception as e:
        seen[type(e).__name__] += 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
EOF
churn_pid=$!
BG_PIDS+=("$churn_pid")
churn_ok=0
for i in $(seq 15); do
	ctl device add "tmp$i" --port $((5100 + 2 * i)) --codec h264 --pt 96 >/dev/null &&
		id=$(ctl sub add cam1 --to "$EXP_IP:$((7000 + 2 * i))") &&
		ctl sub del "$id" >/dev/null && ctl device del "tmp$i" >/dev/null &&
		churn_ok=$((churn_ok + 1))
done
touch "$work/churn.done"
wait_pid "$churn_pid" 10
churn=$(cat "$work/churn.out")
check "15 rounds of device add, sub add, sub del, device del ($churn_ok done)" "$churn_ok" = 15
check "scrapes during them were all whole pages ($churn)" \
	-n "$(grep -E '^whole=[0-9]+$' <<<"$churn")"
check "caasd still runs" -n "$(kill -0 "$CAASD_PID" 2>/dev/null && echo yes)"

stop_pid "$CAM_PID"
caasd_stop_check

# More devices than metrics_devices: no per-device series at all, and a flag saying so.
caasd_start 's|^metrics_devices *=.*|metrics_devices = 1|' ||
	bail "caasd starts again with metrics_devices = 1"
p3=$work/scrape3.prom
got=$(scrape "$p3")
check "metrics_devices = 1: 200 ($got)" "${got%% *}" = 200
promtool_ok "$p3"
check "... promtool accepts the page" $? = 0
check "... both devices are back from the state file ($(metric "$p3" caas_devices))" \
	"$(metric "$p3" caas_devices)" = 2
check "... caas_metrics_devices_truncated is 1 ($(metric "$p3" caas_metrics_devices_truncated))" \
	"$(metric "$p3" caas_metrics_devices_truncated)" = 1
check "... and no series has a device label ($(grep -c 'device="' "$p3"))" \
	"$(grep -c 'device="' "$p3")" = 0
a=$(grep -Ec '^caas_(stream|subscriber|record_packets|record_dropped)_' "$p3")
check "... nor a per-device family ($a samples)" "$a" = 0
check "... while the aggregates stay (streams down: $(metric "$p3" 'caas_streams{state="down"}'))" \
	"$(metric "$p3" 'caas_streams{state="down"}')" = 2
caasd_stop_check

# The metrics port taken: caasd must not start without its endpoint, and must say why.
ip netns exec "$LAB-dut" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the TIME_WAIT of the scrapes
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(60)
' "${METRICS##*:}" &
BG_PIDS+=("$!")
# shellcheck disable=SC2317 # called through wait_for
busy() { inns dut ss -tln | grep -q " $METRICS "; }
wait_for 5 busy
check "a listener holds $METRICS in $LAB-dut" $? = 0
: >"$work/caasd.err"
caasd_start >/dev/null 2>&1
check "caasd refuses to start with the metrics port taken" $? != 0
check "caasd is not running" -n "$(kill -0 "$CAASD_PID" 2>/dev/null || echo gone)"
msg=$(grep -m1 'metrics' "$work/caasd.err")
check "... and says why: ${msg:-nothing}" \
	"$(grep -c "^caasd: \[mgmt\] metrics on $METRICS: .*Address already in use" "$work/caasd.err")" = 1
CAASD_PID=
caas_done
