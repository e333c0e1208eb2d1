# Shared helpers for the caasd integration tests. Source it from a test script; it brings up
# nothing by itself. A test typically does:
#
#   . "$(dirname "$0")/caasd_lib.sh"
#   caas_setup                  # unique lab (caas-tPID-{dut,cam,exp,sw}), temp dir, cleanup trap
#   caasd_start || bail "caasd does not start"
#   ctl device add cam1 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32
#   check "packets flow" "$(ctlj packets stream show cam1)" -gt 0
#   caasd_stop_check            # SIGTERM: exits 0 within 5 s, prints "caasd: stopped"
#   caas_done                   # exit status: non-zero if any check failed
#
# Only 198.18.0.0/15 addresses, only namespaces of our own; every wait is bounded; the EXIT trap
# ends what we started (background processes by their ids, caasd, then the lab's namespaces)
# even when a check fails or the script is interrupted. KEEP=1 keeps the work directory.
# shellcheck disable=SC2034 # variables here are for the scripts that source this file

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

CAASD=${CAASD:-$root/build/caasd}
CAASCTL=$root/build/caasctl
MEDIA=$root/build/test-media
DUT_IP=198.18.0.1
CAM_IP=198.18.0.2
EXP_IP=198.18.0.3

n=0
failed=0
BG_PIDS=()
CAASD_PID=
LAB=
work=

# --- TAP -----------------------------------------------------------------------------------------

# check DESCRIPTION TEST-ARGS...: one TAP line, "ok" when [ TEST-ARGS ] holds.
check() {
	local what=$1
	shift
	n=$((n + 1))
	if [ "$@" ]; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=1
	fi
}

# diag TEXT...: a TAP diagnostic line.
diag() { echo "# $*"; }

# diag_file FILE [LINES]: the last lines of a file as diagnostics (nothing when empty).
diag_file() {
	[ -s "$1" ] || return 0
	echo "# --- $(basename "$1"):"
	tail -n "${2:-10}" "$1" | sed 's/^/#   /'
}

# bail DESCRIPTION: a failed check that makes the rest meaningless; cleans up and exits 1.
bail() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -n "$work" ] && diag_file "$work/caasd.err" 20
	exit 1
}

# caas_done: the script's exit status.
caas_done() { exit $failed; }

# is PYTHON-EXPR: prints 1 when the (numeric) expression holds, else 0. For floats:
#   check "loss in range" "$(is "1 <= $pct <= 3")" = 1
is() { python3 -c 'import sys; print(1 if eval(sys.argv[1], {}) else 0)' "$1" 2>/dev/null || echo 0; }

# calc PYTHON-EXPR: prints its value (rounded floats to 3 decimals).
calc() {
	python3 -c 'import sys; v = eval(sys.argv[1], {}); print(round(v, 3) if isinstance(v, float) else v)' "$1"
}

# --- JSON ----------------------------------------------------------------------------------------

# jget PATH: the value at PATH in the JSON document on stdin. PATH is keys separated by ".",
# array indices as numbers, or KEY=VALUE to pick the array element whose KEY is VALUE:
#   ctl --json stream list | jget name=cam1.packets
#   ctl --json status | jget drops.unknown_source
# Booleans print as true/false, objects and arrays as JSON; nothing is printed and the status
# is 1 when PATH is not there.
jget() {
	python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
for part in sys.argv[1].split(".") if sys.argv[1] else []:
    if isinstance(v, list):
        if "=" in part:
            k, want = part.split("=", 1)
            v = next((e for e in v if isinstance(e, dict) and str(e.get(k)) == want), None)
        else:
            try:
                v = v[int(part)]
            except (ValueError, IndexError):
                v = None
    elif isinstance(v, dict):
        v = v.get(part)
    else:
        v = None
    if v is None:
        sys.exit(1)
if isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, (dict, list)):
    print(json.dumps(v))
else:
    print(v)
' "$1"
}

# --- caasctl ---------------------------------------------------------------------------------------

# ctl ARGS...: caasctl on this test's caasd.
ctl() { "$CAASCTL" -s "$SOCK" "$@"; }

# ctlj PATH COMMAND...: one field of a command's JSON answer, e.g. ctlj drops.gtpu status.
ctlj() {
	local path=$1
	shift
	ctl --json "$@" | jget "$path"
}

# telemetry CMD: caasd's answer to a DPDK telemetry command ("/caas/status", "/caas/stream,cam1"),
# as dpdk-telemetry.py would print it (JSON), from the telemetry socket of the one DPDK process.
telemetry() {
	python3 -c '
import glob, json, socket, sys
path = sorted(glob.glob("/var/run/dpdk/*/dpdk_telemetry.v2"))[0]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
json.loads(s.recv(16384))
s.send(sys.argv[1].encode())
print(json.dumps(json.loads(s.recv(65536))))' "$1"
}

# --- processes -------------------------------------------------------------------------------------

# wait_for SECONDS COMMAND...: until COMMAND succeeds (polled every 0.1 s); 1 on timeout.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_pid PID SECONDS: until background process PID has exited (SECONDS may be a fraction);
# its status, or 124 on timeout.
wait_pid() {
	local pid=$1 i tries
	tries=$(awk -v s="$2" 'BEGIN { printf "%d", s * 50 }')
	for ((i = 0; i < tries; i++)); do
		kill -0 "$pid" 2>/dev/null || {
			{ wait "$pid"; } 2>/dev/null
			return
		}
		sleep 0.02
	done
	return 124
}

# stop_pid PID [SECONDS]: end a background process (a camera, or an expert that ignored
# expert_stop): SIGINT, and a second SIGINT 0.3 s later (FFmpeg 5.1 stops its loop on the first,
# but a read blocked on an idle socket is interrupted only by the second, which also makes its
# last writes fail); SIGKILL after SECONDS (5). Returns its status, 124 if it was killed.
stop_pid() {
	local pid=$1 secs=${2:-5} rc
	kill -0 "$pid" 2>/dev/null || {
		{ wait "$pid"; } 2>/dev/null
		return
	}
	kill -INT "$pid" 2>/dev/null
	wait_pid "$pid" 0.3
	rc=$?
	[ $rc = 124 ] || return $rc
	kill -INT "$pid" 2>/dev/null
	wait_pid "$pid" "$secs"
	rc=$?
	if [ $rc = 124 ]; then
		kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
	fi
	return $rc
}

# inns ROLE COMMAND...: run COMMAND in the lab's namespace ROLE (dut, cam, exp). In the
# foreground only: "inns ... &" would leave a subshell as $!, one that ignores SIGINT; start
# background processes with "ip netns exec "$LAB-ROLE" CMD... &" so that $! is CMD itself.
inns() {
	local role=$1
	shift
	ip netns exec "$LAB-$role" "$@"
}

# --- the lab and caasd -----------------------------------------------------------------------------

caas_cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${BG_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
	done
	if [ -n "$CAASD_PID" ] && kill -0 "$CAASD_PID" 2>/dev/null; then
		kill -TERM "$CAASD_PID" 2>/dev/null
		wait_pid "$CAASD_PID" 5 || kill -KILL "$CAASD_PID" 2>/dev/null
	fi
	[ -n "$LAB" ] && CAAS_LAB=$LAB "$root/scripts/lab.sh" down >/dev/null 2>&1
	if [ -n "$work" ]; then
		if [ -n "${KEEP:-}" ]; then
			echo "# work directory kept: $work" >&2
		else
			rm -rf "$work"
		fi
	fi
}

# caas_setup: a lab of our own (caas-tPID: namespaces caas-tPID-dut, -cam, -exp, -sw), a work
# directory, the cleanup trap. Bails out when the binaries are missing or the lab cannot start.
caas_setup() {
	LAB=caas-t$$
	export CAAS_LAB=$LAB
	work=$(mktemp -d /tmp/caasd-test.XXXXXX)
	SOCK=$work/caasd.sock
	trap caas_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ -x "$CAASD" ] && [ -x "$CAASCTL" ] || bail "caasd and caasctl are built (run make)"
	"$root/scripts/lab.sh" up >"$work/lab.log" 2>&1 || {
		diag_file "$work/lab.log"
		bail "lab $LAB comes up"
	}
}

# lab ARGS...: scripts/lab.sh on this test's lab (e.g. "lab netem loss 2%").
lab() { CAAS_LAB=$LAB "$root/scripts/lab.sh" "$@"; }

# caasd_config [SED-EXPR...]: write this test's configuration: conf/caasd.conf with its own
# control socket and 32768 mbufs, then each sed expression applied.
caasd_config() {
	local e args=(-e "s|^socket *=.*|socket = $SOCK|" -e "s|^mbufs *=.*|mbufs = 32768|"
		-e "s|^dir *=.*|dir = $work/rec|" -e "s|^reserve *=.*|reserve = 16M|"
		-e "s|^state *=.*|state = $work/state.json|")
	for e in "$@"; do args+=(-e "$e"); done
	sed "${args[@]}" "$root/conf/caasd.conf" >"$work/caasd.conf"
	grep -q "^socket = $SOCK\$" "$work/caasd.conf" && grep -q '^mbufs = [0-9]*$' "$work/caasd.conf"
}

# caasd_start [SED-EXPR...]: caasd in LAB-dut, in the background, with the configuration above;
# returns once "caasctl status" answers (30 s at most), 1 if it died or never answered.
caasd_start() {
	caasd_config "$@" || return 1
	ip netns exec "$LAB-dut" "$CAASD" -c "$work/caasd.conf" >"$work/caasd.out" 2>>"$work/caasd.err" &
	CAASD_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$CAASD_PID" 2>/dev/null || {
			wait "$CAASD_PID"
			diag "caasd exited with status $? while starting"
			diag_file "$work/caasd.out"
			diag_file "$work/caasd.err"
			return 1
		}
		[ -S "$SOCK" ] && "$CAASCTL" -s "$SOCK" --timeout 1 status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	diag "caasd did not answer on $SOCK within 30 s"
	diag_file "$work/caasd.err"
	return 1
}

# caasd_stop: SIGTERM; 0 when caasd exited with status 0 within 5 s and printed "caasd: stopped".
caasd_stop() {
	local rc
	[ -n "$CAASD_PID" ] || return 1
	kill -TERM "$CAASD_PID" 2>/dev/null
	wait_pid "$CAASD_PID" 5
	rc=$?
	if [ $rc = 124 ]; then
		diag "caasd still running 5 s after SIGTERM"
		kill -KILL "$CAASD_PID" 2>/dev/null
		wait "$CAASD_PID" 2>/dev/null
	fi
	CAASD_PID=
	CAASD_RC=$rc
	[ $rc = 0 ] || { diag "caasd exited with status $rc"; diag_file "$work/caasd.err"; }
	[ $rc = 0 ] && grep -q '^caasd: stopped$' "$work/caasd.out"
}

# caasd_stop_check: caasd_stop as a TAP check.
caasd_stop_check() {
	caasd_stop
	check "caasd stops on SIGTERM: exit status ${CAASD_RC:-?} within 5 s, \"caasd: stopped\"" $? = 0
}

# --- cameras and experts ---------------------------------------------------------------------------

# clip NAME CODEC SECONDS [GOP]: path of a cached 720p30 test clip, made on first use.
clip() {
	local out=$MEDIA/$1.mp4
	make_clip "$2" "$out" "$3" 1280x720 "${4:-}" >&2 || return 1
	echo "$out"
}

# camera_start CODEC CLIP PORT [FFMPEG-OUTPUT-ARGS...]: an FFmpeg camera in LAB-cam sending CLIP
# in real time as RTP (parameter sets in band, 1200-byte packets) to caasd's PORT. Sets CAM_PID.
camera_start() {
	local codec=$1 file=$2 port=$3
	shift 3
	local bsf=${codec/h265/hevc}_mp4toannexb
	# A camera on a live network knows caasd's MAC already. Starting a flow to an unresolved
	# neighbour lets Linux send its first packets out of order (the ARP queue is flushed while
	# new packets take the resolved path), and FFmpeg experts discard a first packet that comes
	# late; caasd counts and forwards such packets, but the lab should not produce them.
	ip netns exec "$LAB-cam" ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
	ip netns exec "$LAB-cam" ffmpeg -nostdin -v error -re -i "$file" -an -c copy -bsf:v "$bsf" \
		"$@" -f rtp -pkt_size 1200 "rtp://$DUT_IP:$port" >/dev/null 2>"$work/cam-$port.err" &
	CAM_PID=$!
	BG_PIDS+=("$CAM_PID")
}

# expert_start NAME SUB-ID PORT: the subscription's SDP (caasctl sub sdp) into NAME.sdp, and an
# FFmpeg expert in LAB-exp that decodes it to NAME.md5 (one framemd5 line a decoded frame;
# messages in NAME.err). Returns once it listens on PORT (5 s at most). Sets EXP_PID.
expert_start() {
	local name=$1 id=$2 port=$3
	ctl sub sdp "$id" >"$work/$name.sdp" || return 1
	ip netns exec "$LAB-exp" ffmpeg -nostdin -y -v error -protocol_whitelist file,udp,rtp \
		-buffer_size 16777216 -i "$work/$name.sdp" -fps_mode passthrough \
		-f framemd5 "$work/$name.md5" >/dev/null 2>"$work/$name.err" &
	EXP_PID=$!
	BG_PIDS+=("$EXP_PID")
	wait_udp "$LAB-exp" "$port"
}

# expert_stop PID PORT: end an FFmpeg expert the way a session ends: an RTCP BYE (after an empty
# RR, as compound packets start; FFmpeg ignores datagrams under 12 bytes) to its RTCP port,
# PORT + 1, from its own namespace. FFmpeg's RTP demuxer takes it as the end of the stream,
# flushes its decoder, writes every frame and exits 0. Nothing else ends it cleanly: caasd keeps
# sending sender reports, and SIGINT cannot interrupt a read blocked on an idle socket without
# also failing the writes that follow. Returns FFmpeg's status; SIGINT/SIGKILL after 5 s (124).
expert_stop() {
	local pid=$1 port=$2 rc
	inns exp python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rr_bye = struct.pack("!BBHIBBHI", 0x80, 201, 1, 0x43414153, 0x81, 203, 1, 0x43414153)
s.sendto(rr_bye, (sys.argv[1], int(sys.argv[2])))
' "$EXP_IP" $((port + 1))
	wait_pid "$pid" 5
	rc=$?
	[ $rc = 124 ] && { stop_pid "$pid" 2; return 124; }
	return $rc
}

# decode_errors NAME: what expert NAME's FFmpeg complained of (it runs with -v error).
decode_errors() { cat "$work/$1.err" 2>/dev/null; }

# same_frames REF.md5 GOT.md5: how many frames of GOT (framemd5) have a checksum REF has: the
# frames decoded bit-exact, whatever their timestamps.
same_frames() {
	python3 -c '
import sys
def sums(path):
    with open(path) as f:
        return [l.rsplit(",", 1)[-1].strip() for l in f if l.strip() and not l.startswith("#")]
ref = set(sums(sys.argv[1]))
print(sum(h in ref for h in sums(sys.argv[2])))
' "$1" "$2" 2>/dev/null || echo 0
}

# md5_frames FILE: frames in a framemd5 file.
md5_frames() {
	local c
	c=$(grep -vc '^#' "$1" 2>/dev/null)
	echo "${c:-0}"
}
