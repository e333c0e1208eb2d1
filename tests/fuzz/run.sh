#!/usr/bin/env bash
# Runs each libFuzzer target for FUZZ_SECONDS (default 10) from its seed corpus, with a fixed
# seed so that a short CI run is repeatable. Prints one TAP line a target. New inputs that raise
# coverage go to build/fuzz/corpus/NAME (not the committed seeds); crashes to build/fuzz/crashes.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-10}
status=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	name=${name#fuzz_}
	work=build/fuzz/corpus/$name
	crashes=build/fuzz/crashes/$name
	mkdir -p "$work" "$crashes"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	log=build/fuzz/$name.log
	if "$bin" -seed=1 -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$work" $seeds >"$log" 2>&1; then
		execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "ok - fuzz $name: ${execs:-?} inputs in ${secs}s, no crash"
	else
		echo "not ok - fuzz $name: crash or leak, see $log and $crashes/"
		grep -E 'ERROR|SUMMARY' "$log" | head -5 | sed 's/^/# /'
		status=1
	fi
done
exit $status
