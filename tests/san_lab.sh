#!/usr/bin/env bash
# tests/san_lab.sh SCRIPT: one lab script with caasd built with ASan+UBSan (build/san/caasd),
# leak checking on. The script's own checks, then one more: no sanitizer report from caasd
# (reports go to files of their own, so the script's output stays TAP).
set -uo pipefail
cd "$(dirname "$0")/.."
script=$1
logs=$(mktemp -d /tmp/caasd-san.XXXXXX)
trap 'rm -rf "$logs"' EXIT
CAASD=$PWD/build/san/caasd ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan" \
	UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan" "$script"
rc=$?
reports=$(find "$logs" -type f | wc -l)
if [ "$reports" = 0 ]; then
	echo "ok - caasd under ASan+UBSan: no report"
else
	echo "not ok - caasd under ASan+UBSan: $reports report(s)"
	for f in "$logs"/*; do head -n 30 "$f" | sed 's/^/# /'; done
	rc=1
fi
exit $rc
