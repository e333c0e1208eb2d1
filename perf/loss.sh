#!/usr/bin/env bash
# perf/run loss: recovery. Streams from caas-replay send under the cell-edge profile (bursty 3%
# loss, 40 ms jitter) through caasd to two experts each; the residual loss the experts see with
# caasd's NACKs to the cameras off, then on, in the same run. Prints one JSON object last.
#   LOSS_STREAMS (default 8), LOSS_SECONDS (default 10), LOSS_PROFILE (default cell-edge)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/perf/lib.sh"
n=${LOSS_STREAMS:-8}
secs=${LOSS_SECONDS:-10}
profile=${LOSS_PROFILE:-cell-edge}
clip=$root/build/test-media/loss-h264-720p.mp4
make_clip h264 "$clip" 10

declare -A res
for nack in false true; do
	"$lab" up >/dev/null
	caasd_up "s|^nack = .*|nack = $nack|" 's|^enabled = .*|enabled = false|' # no recording
	devices "$n"
	"$lab" exec cam ping -c 1 -W 2 $DUT >/dev/null
	read -r _ _ _ _ pkts <<<"$(load "$n" "--profile $profile")"
	# Residual loss as the experts count it: their sequence numbers, after any retransmission.
	loss=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["loss_ratio"])' \
		"$work/recv.json")
	nacks=$(python3 - "$work/send.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(t.get("dropped_by_impairment", 0), t.get("retransmitted", 0))
PY
)
	relay_down
	res[$nack]="$loss $pkts $nacks"
	echo "loss: nack=$nack: residual loss at the experts $loss (sender: $pkts sent; dropped, retransmitted: $nacks)" >&2
done
read -r off_loss off_pkts off_drop off_retx <<<"${res[false]}"
read -r on_loss on_pkts on_drop on_retx <<<"${res[true]}"
printf '{"scenario":"loss","profile":"%s","streams":%s,"seconds":%s,"without_nack":{"residual_loss":%s,"sent":%s,"dropped_on_uplink":%s},"with_nack":{"residual_loss":%s,"sent":%s,"dropped_on_uplink":%s,"retransmitted":%s}}\n' \
	"$profile" "$n" "$secs" "$off_loss" "$off_pkts" "$off_drop" "$on_loss" "$on_pkts" "$on_drop" "$on_retx"
