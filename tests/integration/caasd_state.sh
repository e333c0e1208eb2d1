#!/usr/bin/env bash
# caasd's control socket (mode 0660, the configured group) and its registry across restarts: devices added at run time (one with recording off, one
# whose recording is stopped later, one deleted again) are back after a SIGTERM restart and
# after a SIGKILL, with the same settings; a state file that is not one is set aside and caasd
# starts empty rather than staying down; requests that are not valid JSON, or name no command,
# or carry bad arguments, get an error reply and change nothing.
set -uo pipefail
# shellcheck source=tests/integration/caasd_lib.sh
. "$(dirname "$0")/caasd_lib.sh"

caas_setup
caasd_start 's|^socket = \(.*\)|socket = \1\nsocket_group = daemon|' || bail "caasd starts"
check "the control socket is mode 0660, group daemon ($(stat -c '%a %G' "$SOCK"))" \
	"$(stat -c '%a %G' "$SOCK")" = "660 daemon"
ctl device add cam1 --port 5004 --codec h264 --pt 96 --src 198.18.0.2/32 >/dev/null &&
	ctl device add cam2 --port 5008 --codec h265 --pt 97 --ssrc 0x1234 --record no >/dev/null &&
	ctl device add cam3 --port 5012 --codec opus --pt 111 --rtcp-mux yes >/dev/null &&
	ctl device add gone --port 5016 --codec h264 --pt 96 >/dev/null &&
	ctl device del gone && ctl record stop cam3 >/dev/null
check "four devices added, one deleted, one recording stopped" $? = 0
before=$(ctl --json device list)
recs_before=$(ctl --json record list | python3 -c '
import json, sys; print(sorted((r["name"], r["state"]) for r in json.load(sys.stdin)))')
check "the state file exists and names the devices" \
	"$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["devices"]))' \
		"$work/state.json" 2>/dev/null)" = "['cam1', 'cam2', 'cam3']"

same_registry() {
	local what=$1 after recs
	after=$(ctl --json device list)
	recs=$(ctl --json record list | python3 -c '
import json, sys; print(sorted((r["name"], r["state"]) for r in json.load(sys.stdin)))')
	check "$what: the same devices with the same settings" "$after" = "$before"
	check "$what: the same recording choices ($recs)" "$recs" = "$recs_before"
}

caasd_stop_check
caasd_start || bail "caasd starts again"
check "caasd says what it restored" "$(grep -c 'state: 3 objects restored, 0 dropped' \
	"$work/caasd.out")" = 1
same_registry "after SIGTERM"

kill -KILL "$CAASD_PID"
wait "$CAASD_PID" 2>/dev/null
caasd_start || bail "caasd starts after SIGKILL"
same_registry "after SIGKILL"

# Malformed requests: an error reply each, nothing changed.
replies=$(inns dut python3 - "$SOCK" <<'EOF'
import socket, sys
for line in [b"this is not json\n", b'{"cmd":"device explode","args":{}}\n',
             b'{"cmd":"device add","args":{"name":"x","port":70000,"codec":"h264","pt":96}}\n',
             b'{"cmd":"device del","args":{"name":"cam1","extra":1}}\n', b"[1,2,3]\n"]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(line)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(data.decode().strip())
    s.close()
EOF
)
nerr=$(grep -c '"ok":false' <<<"$replies")
check "five malformed requests, five error replies ($nerr)" "$nerr" = 5
check "... and the registry is unchanged" "$(ctl --json device list)" = "$before"

# A damaged state file: set aside, caasd up with an empty registry.
caasd_stop_check
echo '{"format": "something else"' >"$work/state.json"
caasd_start || bail "caasd starts with a damaged state file"
check "a damaged state file is set aside ($(ls "$work" | grep -c 'state.json.bad-'))" \
	"$(ls "$work" | grep -c 'state.json.bad-')" = 1
check "... and caasd runs with no devices" "$(ctl --json device list)" = "[]"
caasd_stop_check
caas_done
