# Shell helpers for the perf scenarios that drive caasd with caas-replay in the lab. Source it
# after setting root; it sets the lab, a work directory removed at exit, and the addresses.
# load() also needs secs and clip from the scenario.

. "$root/scripts/lib.sh"
export CAAS_LAB=caas-perf
lab="$root/scripts/lab.sh"
REPLAY=$root/build/caas-replay
DUT=198.18.0.1
EXP=198.18.0.3
work=$(mktemp -d)
sock=$work/caasd.sock
trap '"$lab" down >/dev/null 2>&1; rm -rf "$work"' EXIT

# snap PID OUT: user+system clock ticks of process PID and of each of its threads (by name),
# and of the whole machine (busy: user, nice, system, irq, softirq), as JSON. PID 0: the
# machine only.
snap() {
	python3 - "$1" >"$2" <<'PY'
import json, os, sys, time
pid = sys.argv[1]
def ticks(path):
    try:
        s = open(path).read()
    except OSError:
        return None
    f = s.rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # fields 14 and 15: utime, stime
threads = {}
if pid != "0" and not os.path.isdir("/proc/%s/task" % pid):
    sys.exit("perf: process %s is gone" % pid)
if pid != "0":
    for tid in os.listdir("/proc/%s/task" % pid):
        t = ticks("/proc/%s/task/%s/stat" % (pid, tid))
        try:
            comm = open("/proc/%s/task/%s/comm" % (pid, tid)).read().strip()
        except OSError:
            continue
        if t is not None:
            threads[tid] = [comm, t]
c = [int(x) for x in open("/proc/stat").readline().split()[1:]]
print(json.dumps({"process": ticks("/proc/%s/stat" % pid) if pid != "0" else 0,
                  "threads": threads, "box": c[0] + c[1] + c[2] + c[5] + c[6],
                  "t": time.monotonic()}))
PY
}

cpu_ticks() { # PID: user+system clock ticks so far
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# load N [SEND-ARGS [RECV-ARGS]]: N streams from LAB-cam to DUT, 2N experts in LAB-exp. Prints
# "loss cpu_relay_s cpu_send_s cpu_recv_s packets_sent" for the relay process RELAY_PID.
load() {
	local n=$1 send_args=${2:-} recv_args=${3:-} rx_pid t0
	# shellcheck disable=SC2086 # extra arguments are words
	ip netns exec "$CAAS_LAB-exp" /usr/bin/time -f '%U %S' -o "$work/recv.time" \
		"$REPLAY" recv --listen "$EXP:6000" --streams $((2 * n)) \
		--duration $((secs + 3)) --report "$work/recv.json" --quiet $recv_args >/dev/null 2>&1 &
	rx_pid=$!
	wait_udp "$CAAS_LAB-exp" 6000 >/dev/null
	t0=$(cpu_ticks "$RELAY_PID")
	"$lab" exec cam /usr/bin/time -f '%U %S' -o "$work/send.time" \
		"$REPLAY" send --to "$DUT:5004" --streams "$n" --input "$clip" \
		--duration "$secs" --seed 1 --report "$work/send.json" --quiet $send_args >/dev/null 2>&1 ||
		true
	local t1
	t1=$(cpu_ticks "$RELAY_PID")
	wait "$rx_pid" || true
	python3 - "$work" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
w, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = json.load(open(w + "/send.json")); r = json.load(open(w + "/recv.json"))
cpu = lambda f: sum(float(x) for x in open(w + "/" + f).read().split()[-2:])
sent = s["total"]["packets_sent"]
got = r["total"]["packets"]
loss = 1 - got / (2.0 * sent) if sent else 1.0
print("%.6f %.3f %.3f %.3f %d" % (max(loss, 0.0), ticks / hz, cpu("send.time"),
                                 cpu("recv.time"), sent))
PY
}

# caasd_up [SED-EXPR...]: caasd in LAB-dut on a copy of conf/caasd.conf. Sets RELAY_PID.
caasd_up() {
	local e args=(-e "s|^socket = .*|socket = $sock|" -e 's|^mbufs = .*|mbufs = 131071|'
		-e 's|^fast_start_bytes = .*|fast_start_bytes = 1048576|'
		-e "s|^state = .*|state = $work/state.json|" -e "s|^dir = .*|dir = $work/rec|")
	for e in "$@"; do args+=(-e "$e"); done
	sed "${args[@]}" "$root/conf/caasd.conf" >"$work/caasd.conf"
	"$lab" exec dut "$root/build/caasd" -c "$work/caasd.conf" >"$work/caasd.log" 2>&1 &
	RELAY_PID=$!
	for _ in $(seq 100); do "$root/build/caasctl" -s "$sock" status >/dev/null 2>&1 && return 0; sleep 0.1; done
	cat "$work/caasd.log" >&2
	return 1
}


# devices N: cam0..camN-1 on ports 5004+2i, each to two experts on 6000+4i and 6002+4i.
devices() {
	local i ctl=("$root/build/caasctl" -s "$sock")
	for ((i = 0; i < $1; i++)); do
		"${ctl[@]}" device add "cam$i" --port $((5004 + 2 * i)) --codec h264 --pt 96 >/dev/null
		"${ctl[@]}" sub add "cam$i" --to "$EXP:$((6000 + 4 * i))" >/dev/null
		"${ctl[@]}" sub add "cam$i" --to "$EXP:$((6002 + 4 * i))" >/dev/null
	done
}

# relay_down: stop the relay (caasd or GStreamer) and remove the lab.
relay_down() {
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null || true
	"$lab" down >/dev/null
}
