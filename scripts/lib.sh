# Shell helpers shared by the demo and the integration tests. Source it; it defines functions only.

# make_clip CODEC OUT [SECONDS] [SIZE] [GOP]: a test-pattern clip as a camera would encode it
# (30 fps, a keyframe every GOP frames, every second by default), made once and reused while it
# exists. With a GOP given, scene-cut keyframes are off too, so keyframes come only every GOP.
make_clip() {
	local codec=$1 out=$2 secs=${3:-2} size=${4:-1280x720} gop=${5:-}
	[ -s "$out" ] && return 0
	mkdir -p "$(dirname "$out")"
	case $codec in
	h264) set -- -c:v libx264 -preset veryfast -g "${gop:-30}" ${gop:+-sc_threshold 0} ;;
	h265) set -- -c:v libx265 -preset veryfast -tag:v hvc1 \
		-x265-params "log-level=error:keyint=${gop:-30}${gop:+:min-keyint=$gop:scenecut=0}" ;;
	*) echo "make_clip: unknown codec $codec" >&2; return 1 ;;
	esac
	ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$size:rate=30" -t "$secs" "$@" \
		-pix_fmt yuv420p "$out.tmp.mp4" && mv "$out.tmp.mp4" "$out"
}

# count_frames FILE: frames ffprobe decodes from the first video stream.
count_frames() {
	ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames \
		-of csv=p=0 "$1" 2>/dev/null
}

# netns_up NAME: a fresh network namespace with only loopback, up.
netns_up() {
	ip netns del "$1" 2>/dev/null || true
	ip netns add "$1" && ip -n "$1" link set lo up
}

# netns_down NAME: end what runs in it, then delete it.
netns_down() {
	ip netns pids "$1" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$1" 2>/dev/null || true
	return 0
}

# wait_udp NS PORT: until something in namespace NS listens on UDP PORT (5 s at most).
wait_udp() {
	for _ in $(seq 100); do
		ip netns exec "$1" ss -uln | grep -q ":$2 " && return 0
		sleep 0.05
	done
	echo "wait_udp: nothing listens on $2 in $1" >&2
	return 1
}
