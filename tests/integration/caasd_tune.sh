#!/usr/bin/env bash
# Run-time tuning: `caasctl tune show|set` and `config reload` change what they say without a
# restart. A device that accepts only 198.18.0.99 drops the lab camera's packets as unknown
# source until `tune set ingest.accept_unknown yes`, after which the same packets are accepted
# (counted as such) and the stream counts them; bad keys and values are refused and change
# nothing; `config reload` applies a changed tunable, names a changed restart-only key, and a
# broken file changes nothing; each change is an event.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
caasd_start || bail "caasd starts"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src 198.18.0.99/32 --record no >/dev/null

# (keys hold dots, which jget takes as a path)
value() { ctl --json tune show | python3 -c '
import json, sys
print(next((t["value"] for t in json.load(sys.stdin) if t["key"] == sys.argv[1]), ""))' "$1"; }
check "tune show lists rtcp.nack_retries = 3 ($(value rtcp.nack_retries))" \
	"$(value rtcp.nack_retries)" = 3
applies=$(ctl tune show | awk '$1 == "record.fsync_ms" { print $5 }')
check "tune show says where record.fsync_ms applies ($applies)" "$applies" = recorder

# 20 RTP packets from the camera's namespace, as from a camera caasd does not expect.
inject() {
	inns cam python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
base = int(sys.argv[2])
for i in range(20):
    s.sendto(struct.pack("!BBHII", 0x80, 96, base + i, (base + i) * 3000, 0x1234) +
             bytes([0x65, 0x88]) + bytes(100), (sys.argv[1], 5004))' "$DUT_IP" "$1"
	sleep 0.3
}
inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
before=$(ctlj drops.unknown_source status)
inject 100
check "from outside --src: 20 dropped as unknown source (+$(($(ctlj drops.unknown_source status) - before)))" \
	"$(($(ctlj drops.unknown_source status) - before))" = 20
ctl tune set ingest.accept_unknown yes >/dev/null
check "tune set ingest.accept_unknown yes" $? = 0
inject 200
check "now the same packets are accepted: stream packets $(ctlj packets stream show cam1)" \
	"$(ctlj packets stream show cam1)" = 20
check "tune show says accept_unknown 1 ($(value ingest.accept_unknown))" \
	"$(value ingest.accept_unknown)" = 1

# DPDK telemetry shows the same counters (what dpdk-telemetry.py would print).
t=$(telemetry "/caas/stream,cam1")
check "telemetry /caas/stream,cam1: 20 packets ($(jget '/caas/stream.packets' <<<"$t"))" \
	"$(jget '/caas/stream.packets' <<<"$t")" = 20
t=$(telemetry /caas/status)
check "telemetry /caas/status: the unknown-source drops ($(jget '/caas/status.drop_unknown_source' <<<"$t"))" \
	"$(jget '/caas/status.drop_unknown_source' <<<"$t")" -ge 20

ctl tune set rtcp.nack_retries 50 >/dev/null 2>&1
check "out of range refused (exit $?)" "$(ctl tune set rtcp.nack_retries 50 >/dev/null 2>&1; echo $?)" = 1
check "... and nothing changed ($(value rtcp.nack_retries))" "$(value rtcp.nack_retries)" = 3
out=$(ctl tune set dataplane.mbufs 99 2>&1)
check "a key that needs a restart is refused, saying so (${out:0:80})" \
	"$(grep -c 'not tunable at run time' <<<"$out")" = 1
ctl tune set record.fsync_ms 50 >/dev/null && ctl tune set dataplane.idle_sleep_us 0 >/dev/null
check "record.fsync_ms and dataplane.idle_sleep_us set ($(value record.fsync_ms), $(value dataplane.idle_sleep_us))" \
	"$(value record.fsync_ms) $(value dataplane.idle_sleep_us)" = "50 0"

# config reload: one tunable changed, one restart-only key changed.
sed -i -e 's|^pli_interval_ms = .*|pli_interval_ms = 750|' -e 's|^mbufs = .*|mbufs = 40000|' \
	"$work/caasd.conf"
r=$(ctl --json config reload)
check "config reload applies rtcp.pli_interval_ms ($(jget applied <<<"$r"))" \
	"$(jget applied <<<"$r" | grep -c '"key": "rtcp.pli_interval_ms", "value": 750') \
$(value rtcp.pli_interval_ms)" = "1 750"
check "... and the file's values of what was tuned by hand ($(value ingest.accept_unknown))" \
	"$(value ingest.accept_unknown)" = 0
check "... and names dataplane.mbufs as needing a restart ($(jget needs_restart <<<"$r"))" \
	"$(jget needs_restart <<<"$r" | grep -c dataplane.mbufs)" = 1
sed -i 's|^idle_sleep_us = .*|idle_sleep_us = lots|' "$work/caasd.conf"
out=$(ctl config reload 2>&1)
check "a broken file is refused, naming the line (${out:0:100})" \
	"$(grep -c 'is not a number' <<<"$out")" = 1
check "... and changes nothing ($(value rtcp.pli_interval_ms))" "$(value rtcp.pli_interval_ms)" = 750
ctl events --since 0 >"$work/events.jsonl"
check "events: tuned ($(grep -c '"type":"tuned"' "$work/events.jsonl")) and config_reloaded" \
	"$(grep -c '"type":"tuned"' "$work/events.jsonl") $(grep -c '"type":"config_reloaded"' "$work/events.jsonl")" = "3 1"
caasd_stop_check
caas_done
