#!/usr/bin/env bash
# Runs every test CAAS Edge has and prints one closing line: "N passed, N failed".
#   unit        cmocka tests, normal build and ASan+UBSan build (TAP output, one line a case)
#   integration tests/integration/*.sh: real processes (FFmpeg, caasd...), one line a check
#   san-lab     the lab scripts of caasd's threads (transcode workers, bridge, help), again
#               with caasd built with ASan+UBSan: their checks, and no sanitizer report
#   fuzz        each libFuzzer target, a short seeded run (FUZZ_SECONDS each, default 10)
# Exits non-zero if anything failed or if nothing ran.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

# Count "ok"/"not ok" lines of a TAP stream, echoing failures with their diagnostics.
count_tap() {
	local label=$1 file=$2 line
	while IFS= read -r line; do
		case "$line" in
		"ok "*) passed=$((passed + 1)) ;;
		"not ok "*)
			failed=$((failed + 1))
			failures+=("$label: ${line#not ok }")
			;;
		esac
	done <"$file"
}

run_tap() { # label, command...
	local label=$1 log
	shift
	log="$log_dir/$(echo "$label" | tr '/ ' '__').log"
	"$@" >"$log" 2>&1
	local rc=$?
	local before=$failed
	count_tap "$label" "$log"
	if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
		# Crashed or failed without saying which case: that is a failure of its own.
		failed=$((failed + 1))
		failures+=("$label: exited with status $rc (see $log)")
	fi
	if [ $failed -ne $before ]; then
		echo "--- $label: failures (log: $log)"
		grep -E '^(not ok|#)' "$log" | head -40
		tail -n 20 "$log"
	fi
	printf '%-40s %s\n' "$label" "$(grep -c '^ok ' "$log") ok, $(grep -c '^not ok ' "$log") not ok"
}

echo "== unit tests"
for t in build/tests/test_*; do
	[ -x "$t" ] && run_tap "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done
echo "== unit tests, ASan+UBSan build"
for t in build/san/tests/test_*; do
	[ -x "$t" ] && run_tap "san/$(basename "$t")" \
		env CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$t"
done
echo "== integration tests"
for t in tests/integration/*.sh; do
	[ -x "$t" ] && run_tap "integration/$(basename "$t" .sh)" "$t"
done
echo "== lab scripts, caasd with ASan+UBSan"
for t in caasd_transcode caasd_bridge caasd_transcode_loss caasd_transcode_churn caasd_help; do
	[ -x build/san/caasd ] && run_tap "san-lab/$t" tests/san_lab.sh "tests/integration/$t.sh"
done
echo "== fuzz smoke runs (${FUZZ_SECONDS:=10} s each)"
run_tap "fuzz" env FUZZ_SECONDS="$FUZZ_SECONDS" tests/fuzz/run.sh

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
