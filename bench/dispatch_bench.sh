#!/usr/bin/env bash
# bench/dispatch_bench.sh — the dispatcher daemon against the fake platform
# (issue 5 §9): how late posts reach X, how fast a backlog drains, how much
# memory the dispatcher takes.  Prints figures; not a timed test, not part
# of `make test`.
#
# Needs bgworker/build/caas-dispatcher (make -C bgworker) and
# tests/fakes/build/fake_platform (make -C tests/fakes).  Reuses
# tests/integration/dispatch_lib.sh: a private cluster on a free port (with
# bench/lib.sh's sizing), the fake on loopback, an organisation on a
# quota-free test plan with one X account (token sealed like caas-api
# does), posts inserted in bulk as the superuser (content, version 1,
# scheduled_posts in state scheduled pinned to version 1, run_at = due_at,
# and the NOTIFY caas.post_schedule sends).  The X adapter speaks real
# HTTP to the fake, which stamps each post with CLOCK_REALTIME µs when it
# receives it; lateness = that stamp − due_at.
#
# Scenarios, each with a fresh dispatcher (so its VmHWM is its own) and a
# reset fake:
#   (a) BENCH_A_POSTS (10,000) posts due at the same instant, 10 s after
#       they are committed: drain throughput (posts / (last receive − first
#       receive), and posts / (last receive − due)), lateness;
#   (b) BENCH_B_POSTS (2,000) posts spread evenly over BENCH_B_SECONDS (20)
#       s: lateness;
#   (c) BENCH_C_POSTS (50) posts BENCH_C_GAP_MS (200) ms apart, scheduled
#       after the dispatcher idled BENCH_C_IDLE (30) s: lateness.
# For each: p50/p99/max lateness, the dispatcher's peak RSS (VmHWM),
# duplicates (the fake's count plus texts received twice) and lost posts
# (not received by the fake).  Targets: (a) ≥ 2,000 posts/s; (b), (c) p99
# ≤ 10 ms; 0 duplicates, 0 lost — each figure is printed with its target.
#
# Environment: BENCH_SCENARIOS ("a b c"), the sizes above,
# BENCH_DISPATCHER_SETTINGS (extra "key value" pairs for dispatcher.conf,
# e.g. "batch_size 500 max_in_flight 1024"), DISPATCH_DEV_SQL=1 (see
# dispatch_lib.sh), DISPATCH_KEEP=1 (keep logs).  Everything started is
# stopped and deleted on exit.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/integration/dispatch_lib.sh disable=SC1091
source tests/integration/dispatch_lib.sh

SCENARIOS=${BENCH_SCENARIOS:-a b c}
A_POSTS=${BENCH_A_POSTS:-10000}
B_POSTS=${BENCH_B_POSTS:-2000}
B_SECONDS=${BENCH_B_SECONDS:-20}
C_POSTS=${BENCH_C_POSTS:-50}
C_GAP_MS=${BENCH_C_GAP_MS:-200}
C_IDLE=${BENCH_C_IDLE:-30}
# shellcheck disable=SC2206
EXTRA=(${BENCH_DISPATCHER_SETTINGS:-})

for t in curl jq; do
	command -v "$t" >/dev/null || { echo "dispatch_bench: $t is missing" >&2; exit 1; }
done
[ -x "$DL_DISPATCHER" ] || { echo "dispatch_bench: $DL_DISPATCHER is missing (make -C bgworker)" >&2; exit 1; }
[ -n "$DL_FAKE_BIN" ] || { echo "dispatch_bench: tests/fakes/build/fake_platform is missing (make -C tests/fakes)" >&2; exit 1; }

echo "== cluster, fake platform, organisation ($(nproc) CPUs; everything on this machine)"
dl_cluster_up "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" "max_connections = 200"
dl_fake_start
dl_org_setup
X=$(dl_account x "9009$RANDOM" tok-x-bench)
[ -n "$X" ] || { echo "dispatch_bench: could not connect the X account" >&2; exit 1; }
echo "   cluster $DL_PG on port $DL_PORT, fake $FAKE, logs in $DL_DIR"
echo "   dispatcher settings: defaults + the fake's URLs + log_level info${EXTRA[*]:+ + ${EXTRA[*]}}"

# settled PREFIX: no post of PREFIX waits or is in flight.
settled() {
	dl_true "SELECT NOT EXISTS (SELECT 1 FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
	                             WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$1 %' AND s.state IN ('scheduled', 'publishing'))"
}

# start_dispatcher NAME: a fresh daemon; sets DPID.
start_dispatcher() {
	dl_daemon_start "$1" log_level info "${EXTRA[@]}"
	DPID=${DL_PID[$1]}
}

# measure PREFIX LABEL: reads what the fake received for PREFIX, prints
# the figures and their targets, appends a summary row.
declare -a SUMMARY=()
measure() {
	local prefix=$1 label=$2 rss dups figs
	rss=$(dl_rss_peak "$DPID")
	dl_fake_tsv "$prefix" "$DL_DIR/$prefix.tsv"
	dups=$(dl_fake_stat duplicates)
	figs=$(psql -X -q -tA -F ' ' -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE f (text text, id text, received_us bigint);
\\copy f FROM '$DL_DIR/$prefix.tsv'
WITH p AS (SELECT c.body, (extract(epoch FROM s.due_at) * 1000000)::bigint AS due_us
             FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
            WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$prefix %'),
     j AS (SELECT p.body, p.due_us, f.received_us, (f.received_us - p.due_us) / 1000.0 AS late_ms
             FROM p LEFT JOIN f ON f.text = p.body)
SELECT count(DISTINCT body),
       count(DISTINCT body) FILTER (WHERE received_us IS NULL),
       count(*) FILTER (WHERE received_us IS NOT NULL) - count(DISTINCT body) FILTER (WHERE received_us IS NOT NULL),
       coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY late_ms)::numeric, 2), -1),
       coalesce(round(percentile_cont(0.99) WITHIN GROUP (ORDER BY late_ms)::numeric, 2), -1),
       coalesce(round(max(late_ms)::numeric, 2), -1),
       coalesce(round(min(late_ms)::numeric, 2), -1),
       coalesce(max(received_us) - min(received_us), 0),
       coalesce(max(received_us) - min(due_us), 0)
  FROM j;
SQL
)
	# shellcheck disable=SC2086
	set -- $figs
	local posts=$1 lost=$2 twice=$3 p50=$4 p99=$5 max=$6 min=$7 span_us=$8 due_span_us=$9
	echo "   $label"
	if [ "$prefix" = "${A_PREFIX:-}" ]; then
		awk -v n="$posts" -v s="$span_us" -v d="$due_span_us" 'BEGIN {
			a = (s > 0 ? n / (s / 1e6) : 0); b = (d > 0 ? n / (d / 1e6) : 0);
			printf "      drain throughput    %9.0f posts/s first→last receive (%.3f s)   target ≥ 2,000: %s\n", a, s / 1e6, (a >= 2000 ? "met" : "MISSED");
			printf "                          %9.0f posts/s due→last receive   (%.3f s)\n", b, d / 1e6 }'
		THROUGHPUT=$(awk -v n="$posts" -v s="$span_us" 'BEGIN { printf "%.0f", (s > 0 ? n / (s / 1e6) : 0) }')
	fi
	awk -v a="$p50" -v b="$p99" -v c="$max" -v m="$min" -v t="$([ "$prefix" = "${A_PREFIX:-}" ] && echo none || echo 10)" 'BEGIN {
		printf "      lateness            p50 %.2f ms  p99 %.2f ms  max %.2f ms  (min %.2f ms)   %s\n", a, b, c, m,
		    (t == "none" ? "(no lateness target for (a))" : ("target p99 ≤ 10 ms: " (b <= 10 ? "met" : "MISSED"))) }'
	awk -v r="${rss:-0}" 'BEGIN { printf "      dispatcher RSS      peak (VmHWM) %.1f MB\n", r / 1024 }'
	echo "      duplicates          $dups at the fake, $twice texts received more than once   target 0: $([ "$dups" = 0 ] && [ "$twice" = 0 ] && echo met || echo MISSED)"
	echo "      lost                $lost of $posts posts never received   target 0: $([ "$lost" = 0 ] && echo met || echo MISSED)"
	echo "      final states        $(dl_q "SELECT string_agg(state || '=' || n, ' ') FROM (SELECT s.state::text, count(*) n
	                                      FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
	                                     WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$prefix %' GROUP BY 1 ORDER BY 1) x")"
	SUMMARY+=("$(printf '%-34s %6s %10s %9s %9s %9s %8s %5s %5s' "$label" "$posts" \
		"$([ "$prefix" = "${A_PREFIX:-}" ] && echo "$THROUGHPUT" || echo -)" "$p50" "$p99" "$max" \
		"$(awk -v r="${rss:-0}" 'BEGIN { printf "%.1f", r / 1024 }')" "$((dups + twice))" "$lost")")
}

run=$(date +%s)
for s in $SCENARIOS; do
	dl_fake_reset
	case $s in
	a)
		A_PREFIX="bench-a-$run"
		start_dispatcher bench-a
		echo "== (a) $A_POSTS posts due at the same instant"
		t0=$(dl_now_ms)
		due=$(dl_q "SELECT to_char((now() + interval '10 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
		dl_bulk_posts "$A_POSTS" "$X" "$A_PREFIX" "'$due'::timestamptz" >/dev/null || { echo "could not create the posts" >&2; exit 1; }
		echo "   created in $(( $(dl_now_ms) - t0 )) ms, due at $due"
		dl_wait 180 settled "$A_PREFIX" || echo "   not settled after 180 s: $(dl_states)"
		measure "$A_PREFIX" "(a) $A_POSTS due at once"
		;;
	b)
		prefix="bench-b-$run"
		start_dispatcher bench-b
		echo "== (b) $B_POSTS posts spread evenly over $B_SECONDS s"
		gap_us=$(( B_SECONDS * 1000000 / B_POSTS ))
		t0=$(dl_now_ms)
		dl_bulk_posts "$B_POSTS" "$X" "$prefix" "now() + interval '5 seconds' + (n - 1) * interval '$gap_us microseconds'" >/dev/null ||
			{ echo "could not create the posts" >&2; exit 1; }
		echo "   created in $(( $(dl_now_ms) - t0 )) ms, the first due 5 s after the commit, one every $gap_us µs"
		dl_wait $((B_SECONDS + 60)) settled "$prefix" || echo "   not settled: $(dl_states)"
		measure "$prefix" "(b) $B_POSTS over $B_SECONDS s"
		;;
	c)
		prefix="bench-c-$run"
		start_dispatcher bench-c
		echo "== (c) $C_POSTS posts ${C_GAP_MS} ms apart after $C_IDLE s idle"
		sleep "$C_IDLE"	# the scenario itself: the dispatcher idles
		dl_bulk_posts "$C_POSTS" "$X" "$prefix" "now() + interval '1 second' + (n - 1) * interval '$C_GAP_MS milliseconds'" >/dev/null ||
			{ echo "could not create the posts" >&2; exit 1; }
		dl_wait $(( C_POSTS * C_GAP_MS / 1000 + 30 )) settled "$prefix" || echo "   not settled: $(dl_states)"
		measure "$prefix" "(c) $C_POSTS ${C_GAP_MS} ms apart, idle ${C_IDLE} s"
		;;
	*) echo "unknown scenario $s" >&2 ;;
	esac
	dl_daemon_stop "bench-$s"
done

echo
echo "== summary (targets: (a) ≥ 2,000 posts/s; (b), (c) p99 ≤ 10 ms; 0 duplicates; 0 lost)"
printf '   %-34s %6s %10s %9s %9s %9s %8s %5s %5s\n' scenario posts "posts/s" "p50 ms" "p99 ms" "max ms" "RSS MB" dup lost
for row in "${SUMMARY[@]}"; do
	echo "   $row"
done
