#!/usr/bin/env bash
# tests/integration/dispatch_crash.t — crash safety of the dispatcher
# (issue 5 §8): no post lost, none sent twice, none stuck.
#
# One private cluster (it gets restarted), the fake platform, X posts made
# in bulk (dl_bulk_posts: rows as post_schedule writes them, plus its
# NOTIFY).  Each part checks posts against the fake with dl_reconcile:
# every post ends published (at the fake exactly once, with the stored
# remote id) or unconfirmed (at the fake at most once: the request may have
# been sent), none scheduled or publishing, no duplicate at the fake.
#
#  1. kill -9 mid-batch: 200 posts against a "slow" fake with at most 20
#     requests in flight; SIGKILL once some are published and others in
#     flight (leases of 20 s); a new daemon with a 1 s sweep recovers: the
#     expired leases become unconfirmed ("lease expired"), the rest is
#     published.
#  2. PostgreSQL restarted under a running daemon (pg_ctl stop -m fast while
#     posts are being published, 2 s down, start): posts due before (some
#     in flight at the stop), during the outage and after it are all
#     published once, and the same daemon process reconnects by itself.
#  3. Three daemons at once on 500 posts due at the same instant: each
#     published exactly once, one attempt each.
set -uo pipefail
# shellcheck source=tests/integration/dispatch_lib.sh
source "$(dirname "$0")/dispatch_lib.sh"

dl_cluster_up
dl_fake_start
dl_org_setup
X=$(dl_account x "4004$RANDOM" tok-x-crash)
[ -n "$X" ] || dl_bail "could not connect the account"
run=$(date +%s)

# clean PREFIX: the reconcile shows nothing lost, twice, mismatched,
# pending, failed or stray.
clean() {
	local k bad=""
	for k in pending other lost twice mismatched stray; do
		[ "$(dl_rc "$k")" = 0 ] || bad="$bad $k=$(dl_rc "$k")"
	done
	[ -z "$bad" ] || { echo "#   not clean:$bad"; return 1; }
}
# settled PREFIX: no post of PREFIX waits or is in flight.
settled() {
	dl_true "SELECT NOT EXISTS (SELECT 1 FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
	                             WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$1 %' AND s.state IN ('scheduled', 'publishing'))"
}
count_state() {
	dl_q "SELECT count(*) FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
	       WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$1 %' AND s.state = '$2'"
}

# ================================================== 1. kill -9 mid-batch
P1="kill9-$run"
dl_fake_mode x slow -1
dl_daemon_start k1 lease_seconds 20 sweep_interval_sec 1 max_in_flight 20 batch_size 50 \
	request_timeout_ms 3000 rescan_interval_sec 5 heartbeat_interval_sec 1
n=$(dl_bulk_posts 200 "$X" "$P1" "now() + interval '1 second'")
dl_ok "200 posts due in 1 s are committed" same "$n" 200
midway() { [ "$(count_state "$P1" published)" -ge 30 ] && [ "$(count_state "$P1" publishing)" -ge 5 ]; }
dl_wait 60 midway
before="published $(count_state "$P1" published), publishing $(count_state "$P1" publishing), scheduled $(count_state "$P1" scheduled), at the fake $(dl_fake_tsv "$P1" /dev/stdout | wc -l)"
dl_ok "mid-batch: some published, some in flight ($before)" midway
dl_daemon_stop k1 KILL
dl_ok "kill -9 ends the daemon" same "$DL_LAST_RC" 137
dl_fake_mode x ok -1
dl_daemon_start k2 lease_seconds 20 sweep_interval_sec 1 request_timeout_ms 3000 \
	rescan_interval_sec 5 heartbeat_interval_sec 1
dl_wait 60 settled "$P1"
dl_reconcile "$P1"
dl_ok "after a restart and lease expiry nothing is stuck in scheduled or publishing" same "$(dl_rc pending)" 0
dl_ok "no post lost, none sent twice, no stray post, each published one has the fake's id" clean
unconf_ok() {
	local u
	u=$(dl_rc unconfirmed)
	[ "$(( $(dl_rc published) + u ))" = 200 ] &&
		same "$(dl_q "SELECT count(*) FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
		               WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$P1 %' AND s.state = 'unconfirmed'
		                 AND s.last_error = 'lease expired'
		                 AND EXISTS (SELECT 1 FROM caas.post_attempts t WHERE t.org_id = s.org_id AND t.post_id = s.post_id
		                               AND t.outcome = 'unknown' AND t.error_message = 'lease expired')")" "$u"
}
dl_ok "every post is published or unconfirmed by the sweeper (lease expired, attempt unknown)" unconf_ok
dl_ok "posts claimed but never sent are published by the new daemon, not left behind" \
	ge "$(dl_q "SELECT count(DISTINCT t.post_id) FROM caas.post_attempts t JOIN caas.content c ON c.org_id = t.org_id
	              JOIN caas.scheduled_posts s ON s.org_id = t.org_id AND s.post_id = t.post_id AND c.content_id = s.content_id
	             WHERE t.org_id = '$DL_ORG' AND c.body LIKE '$P1 %' AND t.dispatcher = 'k2' AND t.outcome = 'published'")" 1
dl_ok "no duplicate at the fake" same "$(dl_fake_stat duplicates)" 0
dl_daemon_stop k2

# ==================================== 2. PostgreSQL restarted under it
P2="pgrestart-$run"
dl_daemon_start pgr lease_seconds 30 sweep_interval_sec 1 rescan_interval_sec 5 heartbeat_interval_sec 1 \
	request_timeout_ms 4000
pid_before=${DL_PID[pgr]}
dl_fake_mode x slow -1 1
# before: due over 1 s from now + 1 s, answered after 1 s ("slow"); the
# stop comes once 5 of them are published, so others are in flight and
# their answers arrive while the server is down.  during: due 0.3 to
# 0.7 s after the stop, while the server is down (2 s).  after: due 8 s on.
dl_bulk_posts 20 "$X" "$P2 before" "now() + interval '1 second' + n * interval '50 milliseconds'" >/dev/null
dl_bulk_posts 20 "$X" "$P2 after" "now() + interval '8 seconds' + n * interval '10 milliseconds'" >/dev/null
dl_wait 10 dl_true "SELECT count(*) >= 5 FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
                    WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$P2 before %' AND s.state = 'published'"
dl_bulk_posts 20 "$X" "$P2 during" "now() + interval '300 milliseconds' + n * interval '20 milliseconds'" >/dev/null
at_stop=$(dl_q "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT s.state::text, count(*) n
                 FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
                WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$P2 before %' GROUP BY 1) x")
t0=$(dl_now_ms)
pg_cluster_stop "$DL_PG" fast
stopped=$?
sleep 2	# the outage itself: the "during" posts fall due now
pg_cluster_start "$DL_PG"
restarted=$?
t1=$(dl_now_ms)
dl_fake_mode x ok -1
dl_ok "PostgreSQL stopped (-m fast) and started again after $((t1 - t0)) ms (before-posts at the stop: $at_stop)" \
	same "$stopped $restarted" "0 0"
dl_wait 45 settled "$P2"
dl_reconcile "$P2"
dl_ok "posts due before, during and after the restart: all 60 published" same "$(dl_rc published)" 60
dl_ok "… each once at the fake with its id, none lost" clean
dl_ok "the same daemon process ran throughout and reconnected by itself" \
	same "$(dl_daemon_alive pgr && echo "${DL_PID[pgr]}")" "$pid_before"
dl_ok "its heartbeat is fresh again after the restart" \
	dl_wait 10 dl_true "SELECT heartbeat_at > now() - interval '3 seconds' FROM caas.dispatchers WHERE pid = $pid_before"
dl_daemon_stop pgr
dl_ok "it still stops cleanly on SIGTERM" same "$DL_LAST_RC" 0

# ============================================== 3. three daemons at once
P3="three-$run"
for d in d1 d2 d3; do
	dl_daemon_start "$d" batch_size 50 lease_seconds 60 request_timeout_ms 5000 sweep_interval_sec 5 rescan_interval_sec 5 heartbeat_interval_sec 1
done
n=$(dl_bulk_posts 500 "$X" "$P3" "now() + interval '1 second'")
dl_wait 60 settled "$P3"
dl_reconcile "$P3"
dl_ok "three daemons, 500 posts due at once ($n committed): all published" same "$(dl_rc published)" 500
dl_ok "… each exactly once at the fake with its id" clean
dl_ok "… with exactly one attempt each" \
	same "$(dl_q "SELECT count(*) || '/' || count(DISTINCT t.post_id) || '/' || max(t.attempt)
	              FROM caas.post_attempts t JOIN caas.scheduled_posts s USING (org_id, post_id)
	              JOIN caas.content c ON c.org_id = s.org_id AND c.content_id = s.content_id
	             WHERE t.org_id = '$DL_ORG' AND c.body LIKE '$P3 %'")" "500/500/1"
echo "# posts per daemon: $(dl_q "SELECT string_agg(dispatcher || '=' || n, ' ' ORDER BY dispatcher)
                                  FROM (SELECT t.dispatcher, count(*) n FROM caas.post_attempts t
                                          JOIN caas.scheduled_posts s USING (org_id, post_id)
                                          JOIN caas.content c ON c.org_id = s.org_id AND c.content_id = s.content_id
                                         WHERE t.org_id = '$DL_ORG' AND c.body LIKE '$P3 %' GROUP BY 1) x")"
dl_ok "no duplicate at the fake over the whole file" same "$(dl_fake_stat duplicates)" 0

[ "$DL_FAILED" = 1 ] && dl_diag 40
dl_done
