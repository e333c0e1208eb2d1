#!/usr/bin/env bash
# caasd recording as evidence: an H.264 and an H.265 camera (FFmpeg, 720p30) are recorded with
# 2-second chunks; the operator stops and restarts one recording; caasd is killed with SIGKILL
# mid-stream and started again. Checks: record list while recording; a stopped recording seals
# its chunk and ignores packets; after the crash every unfinished file is recovered (no .part
# left, "recovered" manifest lines), every segment decodes with FFmpeg without a message, and
# the journal lost no more than fsync_ms (+ 150 ms of slack for scheduling on this shared box)
# before the kill; `caasctl record verify` says OK for both streams, then fails naming the file
# when one byte of a sealed segment is flipped, and the entry when a manifest line is deleted;
# `record export` writes a pcap tcpdump reads (and caas-replay replays into caasd packet for
# packet) and an MP4 ffprobe counts frames in.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

FSYNC_MS=200
caas_setup
clip264=$(clip h264-720p-16s h264 16) && clip265=$(clip h265-720p-16s h265 16) ||
	bail "encode the 16 s test clips"
conf=('s|^segment_seconds *=.*|segment_seconds = 2|' "s|^fsync_ms *=.*|fsync_ms = $FSYNC_MS|")
caasd_start "${conf[@]}" || bail "caasd starts in $LAB-dut with recording on"
rec=$work/rec

declare -A port=([h264]=5004 [h265]=5008) clips=([h264]=$clip264 [h265]=$clip265)
for codec in h264 h265; do
	ctl device add "cam-$codec" --port "${port[$codec]}" --codec "$codec" --pt 96 \
		--src "$CAM_IP/32" >/dev/null
	check "$codec: device cam-$codec added (recording by default)" $? = 0
done
check "signing key created with its public half" -s "$rec/key.pem" -a -s "$rec/key.pub.pem"
for codec in h264 h265; do
	camera_start "$codec" "${clips[$codec]}" "${port[$codec]}"
done

sleep 3.5
list=$(ctl --json record list)
for codec in h264 h265; do
	s=cam-$codec
	check "$codec: record list shows $s on ($(jget "name=$s.state" <<<"$list"))" \
		"$(jget "name=$s.state" <<<"$list")" = on
	check "$codec: packets journaled ($(jget "name=$s.packets" <<<"$list"))" \
		"$(jget "name=$s.packets" <<<"$list")" -gt 500
	check "$codec: chunks sealed after 3.5 s of 2 s chunks ($(jget "name=$s.sealed" <<<"$list"))" \
		"$(jget "name=$s.sealed" <<<"$list")" -ge 1
	check "$codec: nothing dropped ($(jget "name=$s.dropped" <<<"$list"))" \
		"$(jget "name=$s.dropped" <<<"$list")" = 0
done
check "the human table names both streams" \
	"$(ctl record list | grep -c '^cam-h26[45] *on ')" = 2

# Stop one recording: its chunk is sealed at once, later packets are not journaled.
sealed=$(ctlj name=cam-h265.sealed record list)
ctl record stop cam-h265 >/dev/null
check "record stop cam-h265 succeeds" $? = 0
sleep 0.5
a=$(ctl --json record list cam-h265)
ra=$(ctlj packets stream show cam-h265)
sleep 0.5
b=$(ctl --json record list cam-h265)
rb=$(ctlj packets stream show cam-h265)
check "stopped: state off ($(jget 0.state <<<"$b"))" "$(jget 0.state <<<"$b")" = off
check "stopped: its open chunk was sealed ($sealed -> $(jget 0.sealed <<<"$b"))" \
	"$(jget 0.sealed <<<"$b")" -gt "${sealed:-0}"
check "stopped: no packet journaled ($(jget 0.packets <<<"$a") -> $(jget 0.packets <<<"$b"))" \
	"$(jget 0.packets <<<"$a")" = "$(jget 0.packets <<<"$b")"
check "stopped: the stream still flows ($ra -> $rb packets)" "${rb:-0}" -gt "${ra:-0}"
ctl record stop cam-h265 >/dev/null 2>&1
check "stopping it again is refused" $? = 1
ctl record start cam-h265 >/dev/null
check "record start cam-h265 succeeds" $? = 0
sleep 1

# The crash: SIGKILL while both are being recorded.
t_kill=$(date +%s.%N)
kill -KILL "$CAASD_PID"
wait "$CAASD_PID" 2>/dev/null
CAASD_PID=
partfiles=$(find "$rec" -name '*.part' | sort)
# What each held: a chunk that had just begun may hold nothing yet (recovery removes those).
find "$rec" -name '*.part' -printf '%p %s\n' >"$work/parts.txt"
parts=$(wc -l <<<"$partfiles")
check "SIGKILL left unfinished files ($parts .part)" "$parts" -ge 2

# The devices come back from the state file and record on (the cameras still send): new chunks
# are .part again, the crash's are not.
caasd_start "${conf[@]}" || bail "caasd starts again after the crash"
left=0
for f in $partfiles; do [ -e "$f" ] && left=$((left + 1)); done
check "after the restart none of the crash's .part files is left ($left)" "$left" = 0
check "the devices are back from the state file ($(ctl device list | grep -c '^cam-h26[45] '))" \
	"$(ctl device list | grep -c '^cam-h26[45] ')" = 2
# Every unfinished file that held media is now a recovered manifest entry of its stream.
missing=$(python3 - "$work/parts.txt" <<'EOF'
import json, os, sys
missing = []
for line in open(sys.argv[1]):
    path, size = line.rsplit(" ", 1)
    final = os.path.basename(path)[:-len(".part")]
    listed = {json.loads(l).get("file") for l in open(os.path.join(os.path.dirname(path), "manifest.jsonl"))
              if '"kind":"recovered"' in l}
    if int(size) > 4096 and final not in listed:
        missing.append(final)
print(" ".join(missing))
EOF
)
nrec=$(cat "$rec"/cam-*/manifest.jsonl | grep -c '"kind":"recovered"')
check "every unfinished file with media became a recovered entry ($nrec; missing: ${missing:-none})" \
	"$nrec" -ge 1 -a -z "$missing"
check "status counts the recovered files ($(ctlj record.recovered_files status))" \
	"$(ctlj record.recovered_files status)" = "$nrec"

# Every segment, sealed or recovered, decodes without a message.
bad=0 nseg=0
for f in "$rec"/cam-*/*.ts; do
	nseg=$((nseg + 1))
	frames=$(ffprobe -v error -count_frames -select_streams v:0 \
		-show_entries stream=nb_read_frames -of default=nw=1:nk=1 "$f" 2>"$work/probe.err" |
		head -1)
	msgs=$(ffmpeg -nostdin -v error -i "$f" -f null - 2>&1 | head -3)
	if [ "${frames:-0}" -lt 1 ] || [ -s "$work/probe.err" ] || [ -n "$msgs" ]; then
		bad=$((bad + 1))
		diag "$f: ${frames:-no} frames; $(head -c 300 "$work/probe.err") $msgs"
	fi
done
check "all $nseg segments decode with ffprobe/ffmpeg without errors ($bad bad)" \
	"$nseg" -ge 4 -a "$bad" = 0

for codec in h264 h265; do
	out=$(ctl record verify "$rec/cam-$codec" 2>&1)
	check "$codec: record verify OK (${out:0:60})" $? = 0 -a "${out:0:3}" = "OK:"
done
pub=$(ctl record verify "$rec/cam-h264" --key "$rec/key.pub.pem" >/dev/null 2>&1; echo $?)
check "record verify with the site's public key: OK" "$pub" = 0

# The journal: the last packet recorded before the kill is at most fsync_ms old.
ctl record export cam-h264 --from @0 --to "@$t_kill" -o "$work/h264.pcap" >"$work/export.out" 2>&1
check "record export to pcap ($(cat "$work/export.out"))" $? = 0
tcpdump=$(command -v tcpdump || echo /usr/sbin/tcpdump)
last=$("$tcpdump" -nn -tt -r "$work/h264.pcap" 2>/dev/null | tail -1 | cut -d' ' -f1)
npk=$("$tcpdump" -nn -r "$work/h264.pcap" 2>/dev/null | wc -l)
check "tcpdump reads the pcap: $npk packets" "$npk" -gt 1000
lost=$(calc "($t_kill - ${last:-0}) * 1000")
check "journal lost $lost ms before the kill (<= $FSYNC_MS + 150)" \
	"$(is "$lost <= $FSYNC_MS + 150")" = 1
# The journal replays: its pcap through caas-replay into a new device gives the same packets
# (caas-replay sends each sequence number once; the journal keeps every copy that arrived).
nrtp=$(python3 - "$work/h264.pcap" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, seen = 24, set()
while off + 16 <= len(d):
    n = struct.unpack_from("<I", d, off + 8)[0]
    p = d[off + 16:off + 16 + n]
    off += 16 + n
    ihl = (p[0] & 15) * 4
    dport = struct.unpack_from("!H", p, ihl + 2)[0]
    rtp = p[ihl + 8:]
    if dport == 5004 and len(rtp) >= 12 and not 200 <= rtp[1] <= 206:
        seen.add((struct.unpack_from("!H", rtp, 2)[0], struct.unpack_from("!I", rtp, 8)[0]))
print(len(seen))
EOF
)
ctl device add replayed --port 5020 --codec h264 --pt 96 --record no >/dev/null
inns cam ping -c 1 -W 2 "$DUT_IP" >/dev/null 2>&1
inns cam "$root/build/caas-replay" send --to "$DUT_IP:5020" --input "$work/h264.pcap" \
	--speed 4 --quiet --report "$work/replay.json" >"$work/replay.out" 2>&1
check "caas-replay sends the exported pcap (status $?)" $? = 0
sleep 0.3
got=$(ctlj packets stream show replayed)
check "the replayed journal arrives whole ($got of $nrtp distinct RTP packets)" \
	"${got:-0}" = "$nrtp"
ctl record export cam-h265 --to "@$t_kill" -o "$work/h265.mp4" >"$work/export.out" 2>&1
check "record export to MP4 ($(cat "$work/export.out"))" $? = 0
mp4=$(ffprobe -v error -count_frames -select_streams v:0 \
	-show_entries stream=codec_name,nb_read_frames -of csv=p=0 "$work/h265.mp4" 2>&1 | head -1)
check "the MP4 plays: $mp4" "${mp4%%,*}" = hevc -a "${mp4##*,}" -gt 30

# Tampering: one flipped byte in a sealed segment, then a deleted manifest line.
seg=$(grep -o '"file":"cam-h264-[0-9]*\.ts"' "$rec/cam-h264/manifest.jsonl" | head -1 |
	cut -d'"' -f4)
python3 - "$rec/cam-h264/$seg" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 1]))
EOF
out=$(ctl record verify "$rec/cam-h264" 2>&1)
rc=$?
check "flipped byte: verify exits 1 ($rc)" "$rc" = 1
check "flipped byte: the message names $seg (${out:0:120})" \
	"$(grep -c "$seg.*sha256 mismatch" <<<"$out")" = 1
sed -i '3d' "$rec/cam-h265/manifest.jsonl"
out=$(ctl record verify "$rec/cam-h265" 2>&1)
rc=$?
check "deleted entry 2: verify exits 1 ($rc)" "$rc" = 1
check "deleted entry: the message names entry 2 (${out:0:120})" \
	"$(grep -c 'entry 2.*missing' <<<"$out")" = 1

caasd_stop_check
caas_done
