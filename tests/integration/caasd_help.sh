#!/usr/bin/env bash
# One-click help with expert pools: 8 devices (caas-replay cameras, H.264 360p), one pool of 3
# experts of capacity 2 each (e1 and e3 accept by hand, e2 auto-accepts), 8 help requests.
# Checks: the first 6 go to the least loaded expert in turn (e1 e2 e3 e1 e2 e3), 2 wait in
# order (positions 1 and 2, a later one with a higher priority ahead); an assigned session has a
# paused subscription whose SDP the expert opens before accepting; accepting starts the media
# and each of the 6 experts' FFmpeg decodes its device's video; ending two sessions assigns the
# waiting requests in order to the experts that freed up, whose media then flows too; pools and
# experts survive a restart (help requests do not).
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

REPLAY=$root/build/caas-replay
N=8
caas_setup
clip=$MEDIA/replay-h264-360p-8s.mp4
make_clip h264 "$clip" 8 640x360 || bail "encode the test clip"
caasd_start || bail "caasd starts"

for ((i = 0; i < N; i++)); do
	ctl device add "cam$i" --port $((5004 + 2 * i)) --codec h264 --pt 96 --talkback-port 7000 \
		>/dev/null ||
		bail "device cam$i"
done
ctl pool add inspect --skills containers,xray >/dev/null
check "pool inspect added" $? = 0
ctl expert add e1 --pool inspect --to "$EXP_IP:6000" --capacity 2 >/dev/null &&
	ctl expert add e2 --pool inspect --to "$EXP_IP:6100" --capacity 2 --auto-accept >/dev/null &&
	ctl expert add e3 --pool inspect --to "$EXP_IP:6200" --capacity 2 --audio-from-port 6990 \
		>/dev/null
check "three experts of capacity 2" $? = 0
ctl expert add e4 --pool nopool --to "$EXP_IP:6300" >/dev/null 2>&1
check "an expert of an unknown pool is refused" $? = 1

declare -a id
for i in 0 1 2 3 4 5 6; do
	id[$i]=$(ctl help "cam$i" --pool inspect)
done
id[7]=$(ctl help cam7 --pool inspect --priority 5)
check "8 help requests get ids (${id[*]})" "${#id[@]}" = 8
ctl help cam0 --pool inspect >/dev/null 2>&1
check "a second request for the same device and pool is refused" $? = 1

list=$(ctl --json help list)
who=$(for i in 0 1 2 3 4 5; do jget "id=${id[$i]}.expert" <<<"$list"; done | paste -sd' ')
check "the first six go to the least loaded in turn ($who)" "$who" = "e1 e2 e3 e1 e2 e3"
check "cam6 and cam7 wait: cam7 (priority 5) first ($(jget "id=${id[7]}.position" <<<"$list"), \
$(jget "id=${id[6]}.position" <<<"$list"))" \
	"$(jget "id=${id[7]}.position" <<<"$list") $(jget "id=${id[6]}.state" <<<"$list")" = "1 queued"
check "e2 auto-accepted: its sessions are active ($(jget "id=${id[1]}.state" <<<"$list"))" \
	"$(jget "id=${id[1]}.state" <<<"$list") $(jget "id=${id[4]}.state" <<<"$list")" = \
	"active active"
check "e1's wait for acceptance ($(jget "id=${id[0]}.state" <<<"$list"))" \
	"$(jget "id=${id[0]}.state" <<<"$list")" = assigned
check "the pool shows 6 sessions, 0 free, 2 waiting" \
	"$(ctl --json pool list | jget 0.sessions) $(ctl --json pool list | jget 0.free) \
$(ctl --json pool list | jget 0.queued)" = "6 0 2"

# Each session's expert client opens its SDP (a subscription exists from assignment), then the
# expert accepts; e2's started at once.
declare -A exp_pid exp_port
start_client() { # REQUEST-INDEX
	local i=$1 sub port
	list=$(ctl --json help list)
	sub=$(jget "id=${id[$i]}.sub" <<<"$list")
	port=$(ctl --json sub list | jget "id=$sub.to" | cut -d: -f2)
	expert_start "s$i" "${sub:-0}" "${port:-0}"
	check "request ${id[$i]}: $(jget "id=${id[$i]}.expert" <<<"$list")'s client listens on \
$port for subscription $sub" $? = 0
	exp_pid[$i]=$EXP_PID
	exp_port[$i]=$port
}
for i in 0 1 2 3 4 5; do start_client $i; done
for i in 0 2 3 5; do
	ctl help accept "${id[$i]}" >/dev/null
	check "e$((i % 3 + 1)) accepts request ${id[$i]}" $? = 0
done
ctl help accept "${id[1]}" >/dev/null 2>&1
check "accepting an active request again is refused" $? = 1

inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
ip netns exec "$LAB-cam" "$REPLAY" send --to "$DUT_IP:5004" --streams $N --input "$clip" \
	--duration 20 --seed 3 --quiet >"$work/send.out" 2>"$work/send.err" &
cam=$!
BG_PIDS+=("$cam")
sleep 3

# Talk-back: e3 speaks (RTP from its audio port to the device's port, where its video comes
# from); the camera of its first session, cam2, hears it on its talk-back port, from caasd.
inns cam python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7000)); s.settimeout(3)
n = 0
try:
    while True:
        data, src = s.recvfrom(2048)
        n += src == (sys.argv[1], 5008) and data[:2] == bytes([0x80, 111])
except socket.timeout:
    pass
print(n)' "$DUT_IP" >"$work/talkback.count" &
listener=$!
sleep 0.5
inns exp python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 6990))
for i in range(50):
    s.sendto(struct.pack("!BBHII", 0x80, 111, i, i * 960, 0x45335333) + bytes(160), (sys.argv[2], 5008))
    time.sleep(0.02)' "$EXP_IP" "$DUT_IP"
wait "$listener"
heard=$(cat "$work/talkback.count")
check "talk-back: cam2's namespace hears e3's 50 voice packets from caasd ($heard)" "$heard" = 50
check "talk-back counted on the stream ($(ctlj talkback_out stream show cam2))" \
	"$(ctlj talkback_out stream show cam2)" = 50

# Two sessions end: the waiting requests are assigned, cam7 first, to e1 and e2.
ctl help end "${id[0]}" >/dev/null && ctl help end "${id[1]}" >/dev/null
check "help end for requests ${id[0]} and ${id[1]}" $? = 0
list=$(ctl --json help list)
check "cam7 then cam6 assigned to the experts that freed up ($(jget "id=${id[7]}.expert" \
	<<<"$list") $(jget "id=${id[6]}.expert" <<<"$list"))" \
	"$(jget "id=${id[7]}.expert" <<<"$list") $(jget "id=${id[6]}.expert" <<<"$list")" = "e1 e2"
check "ended requests are gone from the list ($(jget "id=${id[0]}.state" <<<"$list"))" \
	-z "$(jget "id=${id[0]}.state" <<<"$list")"
for i in 0 1; do expert_stop "${exp_pid[$i]}" "${exp_port[$i]}"; done
start_client 7
start_client 6
ctl help accept "${id[7]}" --by e1 >/dev/null
check "e1 accepts request ${id[7]}" $? = 0
sleep 6
stop_pid "$cam" 2

for i in 2 3 4 5 6 7; do
	expert_stop "${exp_pid[$i]}" "${exp_port[$i]}"
	got=$(md5_frames "$work/s$i.md5")
	check "request ${id[$i]} (cam$i): the expert decoded its video (${got:-0} frames)" \
		"${got:-0}" -ge 60
done
for i in 0 1; do
	got=$(md5_frames "$work/s$i.md5")
	check "request ${id[$i]} (cam$i), ended early: decoded until then (${got:-0} frames)" \
		"${got:-0}" -ge 30
done

# The event stream tells the story as JSON lines.
ctl events --since 0 >"$work/events.jsonl"
count_ev() { python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    n += e["type"] == sys.argv[2] and all(str(e.get(k)) == v for k, v in (a.split("=") for a in sys.argv[3:]))
print(n)' "$work/events.jsonl" "$@"; }
check "events: 8 help requests ($(count_ev help_requested))" "$(count_ev help_requested)" = 8
check "events: 8 assignments ($(count_ev help_assigned)), 2 ended ($(count_ev help_ended))" \
	"$(count_ev help_assigned) $(count_ev help_ended)" = "8 2"
check "events: cam7 was assigned to e1 ($(count_ev help_assigned device=cam7 expert=e1))" \
	"$(count_ev help_assigned device=cam7 expert=e1)" = 1
check "events: the cameras' streams came up ($(count_ev stream_state to=up))" \
	"$(count_ev stream_state to=up)" -ge 8
timeout 2 "$CAASCTL" -s "$SOCK" events --follow >"$work/follow.jsonl" 2>&1 &
follower=$!
sleep 0.7
ctl help end "${id[2]}" >/dev/null
wait "$follower"
followed=$(grep '"type":"help_ended"' "$work/follow.jsonl" | grep -c "\"request\":${id[2]},")
check "events --follow shows the end of request ${id[2]} as it happens ($followed)" "$followed" = 1

# The metrics page tells the same story; promtool accepts it.
inns dut python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode(), end="")' >"$work/metrics.txt"
check "promtool accepts the metrics page" -z "$(promtool check metrics <"$work/metrics.txt" 2>&1)"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$work/metrics.txt"; }
check "caas_help_requests_total 8 ($(metric caas_help_requests_total))" \
	"$(metric caas_help_requests_total)" = 8
check "8 assignments in the wait histogram ($(metric caas_help_wait_seconds_count))" \
	"$(metric caas_help_wait_seconds_count)" = 8
check "active sessions: 5 ($(metric 'caas_help_requests{state="active"}'))" \
	"$(metric 'caas_help_requests{state="active"}')" = 5
check "time to first frame observed for the sessions that started with media waiting \
($(metric caas_help_first_frame_seconds_count))" "$(metric caas_help_first_frame_seconds_count)" -ge 6

caasd_stop_check
caasd_start || bail "caasd starts again"
check "pools and experts are back after a restart" \
	"$(ctl --json pool list | jget 0.name) $(ctl --json expert list | python3 -c '
import json, sys; print(" ".join(sorted(e["name"] + ":" + str(e["capacity"]) for e in json.load(sys.stdin))))')" \
	= "inspect e1:2 e2:2 e3:2"
check "help requests are not kept across restarts; no subscription is left" \
	"$(ctl --json help list) $(ctl --json sub list)" = "[] []"
caasd_stop_check
caas_done
