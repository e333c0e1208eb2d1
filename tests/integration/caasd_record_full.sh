#!/usr/bin/env bash
# caasd recording onto a small file system that fills up: a 12 MiB tmpfs as [record] dir,
# 1-second chunks, a reserve of 4 MiB, one H.264 camera (720p, about 1 MB/s of journal and
# segments together, so the disk is down to its reserve after some 8 s of the 16 s clip) and an FFmpeg expert watching it. Within seconds the disk is full; caasd
# must keep forwarding live video (the expert decodes nearly every frame, without decoder
# complaints), raise the disk alarm, retire the oldest sealed files (signed "retired" manifest
# lines, so `record verify` still passes), keep recording the newest chunks, and not crash.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
file=$(clip h264-720p-16s h264 16) || bail "encode the 16 s test clip"
small=$work/small
mkdir -p "$small"
mount -t tmpfs -o size=12m,mode=0750 caas-test-small "$small" || bail "mount a 12 MiB tmpfs"
cleanup_mount() { umount -l "$small" 2>/dev/null; }
trap 'cleanup_mount; caas_cleanup' EXIT
caasd_start "s|^dir *=.*|dir = $small/rec|" 's|^reserve *=.*|reserve = 4M|' \
	's|^segment_seconds *=.*|segment_seconds = 1|' || bail "caasd starts recording onto the tmpfs"

ffmpeg -nostdin -v error -i "$file" -fps_mode passthrough -f framemd5 "$work/ref.md5"
sent=$(md5_frames "$work/ref.md5")
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src "$CAM_IP/32" >/dev/null
check "device cam1 added, recording onto the small file system" $? = 0
id=$(ctl sub add cam1 --to "$EXP_IP:6000" --paused)
expert_start exp "${id:-0}" 6000 || bail "the FFmpeg expert listens"
ctl sub resume "$id" >/dev/null
camera_start h264 "$file" 5004
cam=$CAM_PID

# While the clip plays: sample the alarm and the free space once a second.
alarm_seen=0 minfree=
for ((i = 0; i < 15; i++)); do
	sleep 1
	st=$(ctl --json status) || break
	[ "$(jget record.alarms.disk <<<"$st")" = true ] && alarm_seen=1
	f=$(jget record.disk_free <<<"$st")
	[ -z "$minfree" ] || [ "${f:-0}" -lt "$minfree" ] && minfree=$f
done
wait_pid "$cam" 20
expert_stop "$EXP_PID" 6000
st=$(ctl --json status)
check "caasd is alive after the disk filled" -n "$st"
retired=$(jget record.retired_files <<<"$st")
alarms=$(jget record.disk_alarms <<<"$st")
check "retention retired sealed files ($retired, $(jget record.retired_bytes <<<"$st") bytes)" \
	"${retired:-0}" -ge 4
check "the disk alarm was raised ($alarms times; seen in status: $alarm_seen)" \
	"${alarms:-0}" -ge 1 -a "$alarm_seen" = 1
check "free space never went below 1 MiB (min $minfree bytes)" "${minfree:-0}" -ge 1048576
got=$(md5_frames "$work/exp.md5")
check "the expert decoded the live video while the disk was full ($got of $sent frames)" \
	"$(is "${got:-0} >= 0.95 * $sent")" = 1
check "the expert's decoder said nothing ($(decode_errors exp | head -c 200))" \
	-z "$(decode_errors exp)"
list=$(ctl --json record list cam1)
check "recording goes on: chunks sealed ($(jget 0.sealed <<<"$list"))" \
	"$(jget 0.sealed <<<"$list")" -ge 6
out=$(ctl record verify "$small/rec/cam1" 2>&1)
check "record verify accepts the retired files (${out:0:70})" $? = 0
nret=$(grep -c '"kind":"retired"' "$small/rec/cam1/manifest.jsonl")
check "the manifest lists each retired file ($nret retired lines)" "$nret" = "${retired:-x}"
newest=$(ls "$small/rec/cam1"/cam1-*.ts 2>/dev/null | tail -1)
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries \
	stream=nb_read_frames -of default=nw=1:nk=1 "$newest" 2>/dev/null | head -1)
check "the newest sealed segment plays (${newest##*/}: $frames frames)" "${frames:-0}" -ge 15
caasd_stop_check
caas_done
