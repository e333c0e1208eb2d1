#!/usr/bin/env bash
# perf/run record: what recording costs. N cameras from caas-replay send into caasd, which
# records every stream (journal + MPEG-TS segments + signed manifest, io_uring, O_DIRECT where
# the file system allows) into a fresh directory; then, in the same run, the same N streams into
# N FFmpeg processes writing them the usual way (ffmpeg -i cam.sdp -c copy -f mpegts). For each:
# bytes written per second, and CPU-seconds per GiB written (caasd's recorder thread "caas-rec"
# with its io_uring workers; the FFmpeg processes), and their ratio. Trials alternate which side
# goes first; medians are reported. Prints one JSON object last.
#   RECORD_STREAMS  cameras (default 32)
#   RECORD_SECONDS  seconds each camera sends (default 20)
#   RECORD_TRIALS   trials, each with both sides (default 3)
#   RECORD_PARENT   where the fresh output directories are made (default /tmp)
#   RECORD_CLIP     the camera clip (default: 720p30 H.264 at about 4 Mbit/s, 1 s GOP, no
#                   B-frames as cameras send it, made once)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/perf/lib.sh"
export CAAS_LAB=caas-rec$$ # a lab of our own: other work may be using caas-perf
n=${RECORD_STREAMS:-32}
secs=${RECORD_SECONDS:-20}
trials=${RECORD_TRIALS:-3}
parent=${RECORD_PARENT:-/tmp}
CTL=("$root/build/caasctl" -s "$sock")
hz=$(getconf CLK_TCK)

# Cameras do not use B-frames, and FFmpeg cannot stream-copy RTP H.264 with B-frames into
# MPEG-TS ("first pts and dts value must be set": RTP carries no DTS): the clip has none.
clip=${RECORD_CLIP:-$root/build/test-media/record-h264-720p-4mbit-nob.mp4}
if [ ! -s "$clip" ]; then
	mkdir -p "$(dirname "$clip")"
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -c:v libx264 \
		-preset veryfast -bf 0 -b:v 4M -maxrate 4M -bufsize 4M -g 30 -pix_fmt yuv420p \
		"$clip.tmp.mp4"
	mv "$clip.tmp.mp4" "$clip"
fi

# Everything we start is ended at exit, whatever happened: FFmpeg (its /usr/bin/time) by id,
# caasd, the lab's namespaces (lab.sh down also ends what is left in them), the outputs.
BG_PIDS=()
outdirs=()
cleanup() {
	local pid rc=$?
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ -s "$work/caasd.log" ]; then
		echo "record: exit status $rc; caasd's last messages:" >&2
		tail -n 20 "$work/caasd.log" >&2
	fi
	for pid in "${BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	[ -n "${RELAY_PID:-}" ] && kill "$RELAY_PID" 2>/dev/null
	for pid in "${BG_PIDS[@]}" ${RELAY_PID:+"$RELAY_PID"}; do wait "$pid" 2>/dev/null || true; done
	"$lab" down >/dev/null 2>&1
	rm -rf "$work" "${outdirs[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# send OUT-PREFIX: the N cameras from LAB-cam to the DUT address for secs seconds (the send
# report in OUT-PREFIX.json, its CPU in OUT-PREFIX.time).
send() {
	"$lab" exec cam /usr/bin/time -f '%U %S' -o "$1.time" \
		"$REPLAY" send --to "$DUT:5004" --streams "$n" --input "$clip" --duration "$secs" \
		--no-ext --seed 1 --report "$1.json" --quiet >/dev/null 2>"$1.err"
}

# ts_frames FILE...: "packets decoded" of the video in the MPEG-TS files, summed: packets from
# demuxing every file, frames from decoding them (run with DECODE=1; 0 otherwise).
ts_frames() {
	local f p d pk=0 dec=0
	for f in "$@"; do
		p=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries \
			stream=nb_read_packets -of csv=p=0 "$f" 2>/dev/null | head -n 1)
		pk=$((pk + ${p:-0}))
		if [ "${DECODE:-0}" = 1 ]; then
			d=$(count_frames "$f" | head -n 1)
			dec=$((dec + ${d:-0}))
		fi
	done
	echo "$pk $dec"
}

# caasd_trial DIR: side A. caasd records the N cameras into the fresh directory DIR; writes
# $work/caasd-$t.json.
caasd_trial() {
	local rec=$1 i
	sync
	"$lab" up >/dev/null
	caasd_up "s|^dir = .*|dir = $rec|"
	for ((i = 0; i < n; i++)); do
		"${CTL[@]}" device add "cam$i" --port $((5004 + 2 * i)) --codec h264 --pt 96 >/dev/null
	done
	"$lab" exec cam ping -c 1 -W 2 $DUT >/dev/null
	"${CTL[@]}" --json status >"$work/a-status0.json"
	du_b0=$(find "$rec" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	# caasd's floor: 3 s with the streams set up and nothing arriving.
	snap "$RELAY_PID" "$work/a-idle.json"
	sleep 3
	snap "$RELAY_PID" "$work/a-snap0.json"
	send "$work/a-send"
	kill -0 "$RELAY_PID" 2>/dev/null || { echo "record: caasd ended while recording" >&2; return 1; }
	sleep 1 # the ring drains (the recorder keeps up in well under a second, or drops count)
	"${CTL[@]}" --json record list >"$work/a-list.json"
	# Stopping seals each stream's open chunk (fsync, rename, signed manifest line): the work
	# any recording ends with, done by the recorder thread, so inside the measurement.
	for ((i = 0; i < n; i++)); do "${CTL[@]}" record stop "cam$i" >/dev/null; done
	snap "$RELAY_PID" "$work/a-snap1.json"
	"${CTL[@]}" --json status >"$work/a-status1.json"
	du_b1=$(find "$rec" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	relay_down
	RELAY_PID=
	# Do the files play? Every segment demuxed, cam0's decoded; cam0's manifest verified.
	local segs=() seg0=()
	mapfile -t segs < <(find "$rec" -name '*.ts' | sort)
	mapfile -t seg0 < <(find "$rec/cam0" -name '*.ts' | sort)
	read -r ts_pk _ <<<"$(ts_frames "${segs[@]}")"
	read -r _ dec0 <<<"$(DECODE=1 ts_frames "${seg0[@]}")"
	verify=$("$root/build/caasctl" record verify "$rec/cam0" >"$work/a-verify.txt" 2>&1 && echo true || echo false)
	nfiles=$(find "$rec" -type f | wc -l)
	find "$rec" -type f -printf '%f %s\n' >"$work/a-files.txt"
	python3 - "$work" "$hz" "$secs" "$n" "$du_b0" "$du_b1" "$ts_pk" "$dec0" "$verify" "$nfiles" \
		>"$work/caasd-$t.json" <<'PY'
import json, sys
w, hz, secs, n = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
du0, du1, ts_pk, dec0, verify, nfiles = (int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]),
                                         int(sys.argv[8]), sys.argv[9] == "true", int(sys.argv[10]))
ld = lambda f: json.load(open(w + "/" + f))
s0, s1, si = ld("a-snap0.json"), ld("a-snap1.json"), ld("a-idle.json")
st0, st1 = ld("a-status0.json")["record"], ld("a-status1.json")["record"]
lst, snd = ld("a-list.json"), ld("a-send.json")["total"]
# Per-thread CPU over the window; threads that ended inside it (idle io_uring workers exit)
# are what the process counted and no live thread did.
groups, live = {}, 0
for tid, (comm, t1) in s1["threads"].items():
    d = t1 - s0["threads"].get(tid, [comm, 0])[1]
    live += d
    g = ("recorder" if comm == "caas-rec" else "io_workers" if comm.startswith("iou-") else
         "dataplane" if comm.startswith("rte-worker") else "control" if comm == "caasd" else
         "other")
    groups[g] = groups.get(g, 0) + d
proc = s1["process"] - s0["process"]
groups["ended_threads"] = proc - live
sec = lambda t: round(t / hz, 3)
nbytes = du1 - du0
gib = nbytes / 2**30
rec_cpu = (groups.get("recorder", 0) + groups.get("io_workers", 0) + groups["ended_threads"]) / hz
sent = snd["packets_sent"]
idle_s = s0["t"] - si["t"]
idle_rec = sum(t - si["threads"].get(tid, [c, 0])[1] for tid, (c, t) in s0["threads"].items()
               if c == "caas-rec")
print(json.dumps({
    "bytes_written": nbytes,
    "bytes_written_counter": st1["bytes_written"] - st0["bytes_written"],
    "files": nfiles,
    "bytes_by_kind": {k: sum(int(l.split()[1]) for l in open(w + "/a-files.txt")
                             if l.split()[0].split(".")[-1] in exts)
                      for k, exts in (("journal", ("jnl",)), ("segments", ("ts",)),
                                      ("manifests_keys", ("jsonl", "pem")))},
    "mb_per_s": round(nbytes / secs / 1e6, 2),
    "recorder_thread_cpu_s": sec(groups.get("recorder", 0)),
    "recorder_cpu_s": round(rec_cpu, 3),
    "recorder_cpu_s_per_gib": round(rec_cpu / gib, 3) if gib else None,
    "caasd_cpu_s": sec(proc),
    "caasd_cpu_s_per_gib": round(proc / hz / gib, 3) if gib else None,
    "threads_cpu_s": {k: sec(v) for k, v in sorted(groups.items())},
    "window_s": round(s1["t"] - s0["t"], 2),
    "idle_recorder_cpu_s_per_s": round(idle_rec / hz / idle_s, 3),
    "idle_caasd_cpu_s_per_s": round((s0["process"] - si["process"]) / hz / idle_s, 3),
    "box_cpu_s": sec(s1["box"] - s0["box"]),
    "camera_bytes": snd["bytes_sent"],
    "packets_sent": sent,
    "packets_journaled_rtp_rtcp": sum(r.get("packets", 0) for r in lst),
    "frames_recorded": sum(r.get("frames", 0) for r in lst),
    "frames_lost": sum(r.get("frames_lost", 0) for r in lst),
    "dropped": sum(r.get("dropped", 0) for r in lst),
    "streams_with_drops": sum(1 for r in lst if r.get("dropped", 0)),
    "stream_errors": sum(r.get("errors", 0) for r in lst),
    "ring_drops": st1["ring_drops"] - st0["ring_drops"],
    "bufs_exhausted": st1["bufs_exhausted"] - st0["bufs_exhausted"],
    "io_errors": st1["io_errors"] - st0["io_errors"],
    "syncs": st1["syncs"] - st0["syncs"],
    "seals": st1["seals"] - st0["seals"],
    "ts_frames": ts_pk,
    "cam0_frames_decoded": dec0,
    "cam0_manifest_verified": verify,
    "sender_cpu_s": round(sum(float(x) for x in open(w + "/a-send.time").read().split()[-2:]), 2),
}))
PY
}

# ffmpeg_trial DIR: side B. N FFmpeg processes in LAB-dut, on a kernel address where caasd's
# was, each writing one camera into DIR/camK.ts; writes $work/ffmpeg-$t.json.
ffmpeg_trial() {
	local out=$1 i p tpid pids=() tpids=() rcs=()
	sync
	"$lab" up >/dev/null
	ip -n "$CAAS_LAB-dut" addr add "$DUT/24" dev dut0
	for ((i = 0; i < n; i++)); do
		p=$((5004 + 2 * i))
		printf 'v=0\r\no=- 0 0 IN IP4 %s\r\ns=cam%d\r\nc=IN IP4 %s\r\nt=0 0\r\nm=video %d RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n' \
			"$DUT" "$i" "$DUT" "$p" >"$out/cam$i.sdp"
		ip netns exec "$CAAS_LAB-dut" /usr/bin/time -f '%U %S' -o "$out/cam$i.time" \
			ffmpeg -nostdin -v error -protocol_whitelist file,udp,rtp -i "$out/cam$i.sdp" \
			-c copy -f mpegts "$out/cam$i.ts" >/dev/null 2>"$out/cam$i.err" &
		tpids+=($!)
		BG_PIDS+=($!)
	done
	for ((i = 0; i < n; i++)); do wait_udp "$CAAS_LAB-dut" $((5004 + 2 * i)) >/dev/null; done
	for tpid in "${tpids[@]}"; do # FFmpeg is /usr/bin/time's child
		pids+=("$(awk '{print $1}' "/proc/$tpid/task/$tpid/children" 2>/dev/null)")
	done
	"$lab" exec cam ping -c 1 -W 2 $DUT >/dev/null
	sleep 0.5 # startup done: FFmpeg waits for its first packet
	for ((i = 0; i < n; i++)); do
		if [ -z "${pids[i]}" ] || ! kill -0 "${pids[i]}" 2>/dev/null; then
			echo "record: the FFmpeg for cam$i ended before the cameras started:" >&2
			cat "$out/cam$i.err" >&2
			return 1
		fi
	done
	for ((i = 0; i < n; i++)); do snap "${pids[i]:-0}" "$work/b-start-$i.json"; done
	snap 0 "$work/b-snap0.json"
	send "$work/b-send"
	# The cameras' RTCP BYE ends each FFmpeg (it flushes and writes its trailer): 15 s at
	# most for all, then SIGINT (twice: a read blocked on an idle socket needs the second),
	# then SIGKILL.
	local deadline=$((SECONDS + 15)) k rc
	for ((i = 0; i < n; i++)); do
		tpid=${tpids[i]}
		while kill -0 "$tpid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
		if kill -0 "$tpid" 2>/dev/null; then
			echo "record: ffmpeg for cam$i did not end at the cameras' BYE; SIGINT" >&2
			for k in 1 2; do
				[ -n "${pids[i]}" ] && kill -INT "${pids[i]}" 2>/dev/null
				sleep 0.3
			done
			for ((k = 0; k < 20; k++)); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL ${pids[i]:+"${pids[i]}"} "$tpid" 2>/dev/null || true
		fi
		rc=0
		wait "$tpid" 2>/dev/null || rc=$?
		rcs+=("$rc")
	done
	BG_PIDS=()
	sync -f "$out/cam0.ts" # FFmpeg's page cache reaches the disk: in the machine's CPU only
	snap 0 "$work/b-snap1.json"
	"$lab" down >/dev/null
	local files=() tsp dec0
	for ((i = 0; i < n; i++)); do files+=("$out/cam$i.ts"); done
	read -r tsp _ <<<"$(ts_frames "${files[@]}")"
	read -r _ dec0 <<<"$(DECODE=1 ts_frames "$out/cam0.ts")"
	python3 - "$work" "$out" "$hz" "$secs" "$n" "$tsp" "$dec0" "${rcs[*]}" \
		>"$work/ffmpeg-$t.json" <<'PY'
import json, os, sys
w, out, hz, secs, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
tsp, dec0, rcs = int(sys.argv[6]), int(sys.argv[7]), [int(x) for x in sys.argv[8].split()]
ld = lambda f: json.load(open(w + "/" + f))
cpu = startup = 0.0
for i in range(n):
    tot = sum(float(x) for x in open("%s/cam%d.time" % (out, i)).read().split()[-2:])
    st = ld("b-start-%d.json" % i)["process"] / hz
    cpu += tot - st
    startup += st
nbytes = sum(os.path.getsize("%s/cam%d.ts" % (out, i)) for i in range(n))
gib = nbytes / 2**30
errs = [open("%s/cam%d.err" % (out, i)).read().strip() for i in range(n)]
snd = ld("b-send.json")["total"]
print(json.dumps({
    "bytes_written": nbytes,
    "files": n,
    "mb_per_s": round(nbytes / secs / 1e6, 2),
    "cpu_s": round(cpu, 3),
    "cpu_s_per_gib": round(cpu / gib, 3) if gib else None,
    "startup_cpu_s_not_counted": round(startup, 2),
    "box_cpu_s": round((ld("b-snap1.json")["box"] - ld("b-snap0.json")["box"]) / hz, 3),
    "window_s": round(ld("b-snap1.json")["t"] - ld("b-snap0.json")["t"], 2),
    "camera_bytes": snd["bytes_sent"],
    "packets_sent": snd["packets_sent"],
    "ts_frames": tsp,
    "cam0_frames_decoded": dec0,
    "exit_nonzero": sum(1 for r in rcs if r),
    "stderr_lines": sum(len(e.splitlines()) for e in errs),
    "first_error": next((e.splitlines()[0] for e in errs if e), None),
    "sender_cpu_s": round(sum(float(x) for x in open(w + "/b-send.time").read().split()[-2:]), 2),
}))
PY
}

for ((t = 0; t < trials; t++)); do
	rec=$(mktemp -d "$parent/caas-rec-perf.XXXXXX")
	ffo=$(mktemp -d "$parent/caas-rec-ffmpeg.XXXXXX")
	outdirs=("$rec" "$ffo")
	# Alternate which side goes first, so that drift on the shared machine hits both.
	if ((t % 2 == 0)); then caasd_trial "$rec"; ffmpeg_trial "$ffo"; else ffmpeg_trial "$ffo"; caasd_trial "$rec"; fi
	fs=$(findmnt -n -o FSTYPE --target "$rec")
	rm -rf "$rec" "$ffo"
	outdirs=()
	python3 - "$work/caasd-$t.json" "$work/ffmpeg-$t.json" "$t" <<'PY' >&2
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("record: trial %s: caasd %.1f MB/s, recorder %.2f CPU-s (%.2f /GiB), caasd %.2f CPU-s "
      "(%.2f /GiB), drops %d, ring drops %d | ffmpeg %.1f MB/s, %.2f CPU-s (%.2f /GiB) | "
      "recorder/ffmpeg per GiB %.2f, same streams %.2f" % (sys.argv[3], a["mb_per_s"], a["recorder_cpu_s"],
      a["recorder_cpu_s_per_gib"], a["caasd_cpu_s"], a["caasd_cpu_s_per_gib"], a["dropped"],
      a["ring_drops"], b["mb_per_s"], b["cpu_s"], b["cpu_s_per_gib"],
      a["recorder_cpu_s_per_gib"] / b["cpu_s_per_gib"], a["recorder_cpu_s"] / b["cpu_s"]))
PY
done

fps=$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate -of csv=p=0 "$clip")
python3 - "$work" "$trials" "$n" "$secs" "$clip" "$fs" "$(ffmpeg -version | head -n 1 | awk '{print $3}')" \
	"$fps" <<'PY'
import json, statistics, sys
from fractions import Fraction
w, trials, n, secs, clip, fs, ffv = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                     float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7])
frames = round(n * secs * float(Fraction(sys.argv[8])))
runs = [{"caasd": json.load(open("%s/caasd-%d.json" % (w, t))),
         "ffmpeg": json.load(open("%s/ffmpeg-%d.json" % (w, t)))} for t in range(trials)]
for r in runs:
    a, b = r["caasd"], r["ffmpeg"]
    r["ratio_cpu_per_gib_written"] = round(a["recorder_cpu_s_per_gib"] / b["cpu_s_per_gib"], 3)
    # The same camera bytes in: recorder CPU against FFmpeg CPU for the same streams.
    r["ratio_cpu_same_streams"] = round(a["recorder_cpu_s"] / b["cpu_s"], 3)
    r["ratio_caasd_total_cpu_per_gib_written"] = round(a["caasd_cpu_s_per_gib"] / b["cpu_s_per_gib"], 3)
med = lambda xs: round(statistics.median(xs), 3)
ma = lambda k: med([r["caasd"][k] for r in runs])
mb = lambda k: med([r["ffmpeg"][k] for r in runs])
a_clean = all(r["caasd"]["dropped"] == 0 and r["caasd"]["ring_drops"] == 0 and
              r["caasd"]["io_errors"] == 0 and r["caasd"]["stream_errors"] == 0 for r in runs)
print(json.dumps({
    "scenario": "record", "streams": n, "seconds": secs, "trials": trials, "clip": clip,
    "filesystem": fs, "ffmpeg": ffv,
    "median": {
        "caasd": {k: ma(k) for k in ("mb_per_s", "recorder_cpu_s", "recorder_cpu_s_per_gib",
                                      "recorder_thread_cpu_s", "caasd_cpu_s",
                                      "caasd_cpu_s_per_gib", "box_cpu_s")},
        "ffmpeg": {k: mb(k) for k in ("mb_per_s", "cpu_s", "cpu_s_per_gib", "box_cpu_s")},
        "ratio_cpu_per_gib_written": med([r["ratio_cpu_per_gib_written"] for r in runs]),
        "ratio_cpu_same_streams": med([r["ratio_cpu_same_streams"] for r in runs]),
        "ratio_caasd_total_cpu_per_gib_written":
            med([r["ratio_caasd_total_cpu_per_gib_written"] for r in runs]),
    },
    "aim": "recorder CPU per GiB written at most 1/3 of FFmpeg's",
    "aim_met": med([r["ratio_cpu_per_gib_written"] for r in runs]) <= 1 / 3,
    "caasd_without_drops": a_clean,
    "frames_sent": frames,
    "all_frames_written": all(r[s]["ts_frames"] == frames for r in runs for s in ("caasd", "ffmpeg")),
    "runs": runs,
}))
PY
