#!/usr/bin/env bash
# tests/integration/dispatch_worker.t — the dispatcher as a PostgreSQL
# background worker (caas_dispatcher.so, registered by caas.so from
# shared_preload_libraries), issue 5 §1.
#
# Skipped when $(pg_config --pkglibdir)/caas_dispatcher.so is not
# installed (`make install` installs it; DISPATCH_WORKER_MODULE_DIR, below,
# runs it against a module built but not installed).  A private cluster is
# set up with caas.dispatcher_workers = 0, then restarted with
# caas.dispatcher_workers = 1, caas.dispatcher_database and
# caas.dispatcher_config_file pointing at a dispatcher.conf written here
# (the fake platform's URLs, the test key ring).  Checks: caas.dispatchers
# shows a heartbeat of kind worker from a child of the postmaster titled
# "caas dispatcher", and pg_stat_activity a backend of that type; posts to
# X, LinkedIn and the sandbox are published by it, once; SIGTERM to the
# worker ends it and the postmaster starts a new one (bgw_restart_time)
# without restarting the cluster; SIGTERM in the middle of 40 posts against
# a slow fake loses none and sends none twice (should no worker come back
# by itself, the cluster is restarted so that the remaining checks still
# run); the cluster stops with the worker (pg_ctl stop -m fast).
set -uo pipefail
# DISPATCH_WORKER_MODULE_DIR: a directory holding a caas_dispatcher.so
# built but not installed (make -C bgworker worker); it goes first in the
# cluster's dynamic_library_path.
MODULE="${DISPATCH_WORKER_MODULE_DIR:-$(pg_config --pkglibdir)}/caas_dispatcher.so"
if [ ! -e "$MODULE" ]; then
	echo "1..0 # SKIP module not installed ($MODULE)"
	exit 0
fi
# shellcheck source=tests/integration/dispatch_lib.sh
source "$(dirname "$0")/dispatch_lib.sh"

dl_cluster_up
dl_q "SHOW caas.dispatcher_workers" >/dev/null 2>&1 ||
	dl_bail "the installed caas.so does not define caas.dispatcher_workers"
dl_fake_start
dl_org_setup
X=$(dl_account x "5005$RANDOM" tok-x-worker)
LI=$(dl_account linkedin "urn:li:person:worker$RANDOM" tok-li-worker)
SB=$(dl_account sandbox "sb-worker-$RANDOM" tok-sb-worker)
[ -n "$X" ] && [ -n "$LI" ] && [ -n "$SB" ] || dl_bail "could not connect the accounts"

# The worker's configuration: read by the postgres user.  Its name is left
# empty (host:pid), as a worker's would be.
CONF=$(dl_conf worker name '""' lease_seconds 20 sweep_interval_sec 1 rescan_interval_sec 5 \
	heartbeat_interval_sec 1 request_timeout_ms 3000)
pg_cluster_paths "$DL_PG"
pg_as tee -a "$PGDATA_DIR/postgresql.auto.conf" >/dev/null <<CONF
caas.dispatcher_workers = 1
caas.dispatcher_database = '$DL_DB'
caas.dispatcher_config_file = '$CONF'
$([ -n "${DISPATCH_WORKER_MODULE_DIR:-}" ] && echo "dynamic_library_path = '$DISPATCH_WORKER_MODULE_DIR:\$libdir'")
CONF
dl_cluster_restart || dl_bail "the cluster did not restart with the worker"

workers() { dl_q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'caas dispatcher'"; }
# worker_pid: the pid of the worker with the newest heartbeat.
worker_pid() { dl_q "SELECT pid FROM caas.dispatchers WHERE kind = 'worker' ORDER BY heartbeat_at DESC LIMIT 1"; }
# fresh_worker [OLD-PID]: a worker other than OLD-PID sent a heartbeat in the last 3 s.
fresh_worker() {
	dl_true "SELECT EXISTS (SELECT 1 FROM caas.dispatchers WHERE kind = 'worker' AND pid <> ${1:-0}
	                         AND heartbeat_at > now() - interval '3 seconds')"
}
# is_worker PID: a child of the postmaster titled "caas dispatcher".
is_worker() {
	[ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$(head -n 1 "$PGDATA_DIR/postmaster.pid")" ] &&
		ps -o args= -p "$1" | grep -q 'caas dispatcher' ||
		{ echo "#   pid $1: $(ps -o ppid=,args= -p "$1" 2>/dev/null || echo gone)"; return 1; }
}
dl_wait 20 fresh_worker
W1=$(worker_pid)
dl_ok "the worker sends heartbeats as kind 'worker' (pid ${W1:-none})" fresh_worker
[ -n "$W1" ] || dl_bail "no worker heartbeat within 20 s"
dl_ok "… from a child of the postmaster titled 'caas dispatcher'" is_worker "$W1"
dl_ok "pg_stat_activity shows one backend of type 'caas dispatcher'" same "$(workers)" 1
dl_ok "the settings are those of the test (workers, database, config file)" \
	same "$(dl_q "SELECT current_setting('caas.dispatcher_workers') || ' ' || current_setting('caas.dispatcher_database')
	              || ' ' || current_setting('caas.dispatcher_config_file')")" "1 $DL_DB $CONF"

# ---------------------------------------------------------- publishing
stamp=$(date +%s%N)
TX="worker x $stamp"
TLI="worker linkedin $stamp"
PX=$(dl_schedule "$(dl_content "$TX")" "$X" 1000)
PLI=$(dl_schedule "$(dl_content "$TLI")" "$LI" 1000)
PSB=$(dl_schedule "$(dl_content "worker sandbox $stamp")" "$SB" 1000)
dl_wait 15 dl_true "SELECT count(*) = 3 FROM caas.scheduled_posts WHERE post_id IN ('$PX', '$PLI', '$PSB') AND state = 'published'"
dl_ok "posts to X, LinkedIn and the sandbox are published by the worker ($(dl_states))" \
	same "$(dl_q "SELECT count(*) FROM caas.scheduled_posts WHERE post_id IN ('$PX', '$PLI', '$PSB') AND state = 'published'")" 3
dl_ok "… X and LinkedIn once each at the fake" same "$(dl_fake_count "$TX") $(dl_fake_posts "[.[] | select(.text | contains(\"$stamp\")) | select(.platform == \"linkedin\")] | length")" "1 1"
dl_ok "… and the attempts were made by a worker listed in caas.dispatchers" \
	same "$(dl_q "SELECT count(*) FROM caas.post_attempts t JOIN caas.dispatchers d ON d.name = t.dispatcher AND d.kind = 'worker'
	              WHERE t.post_id IN ('$PX', '$PLI', '$PSB')")" 3

# ------------------------------------------------- SIGTERM, then restart
t0=$(dl_now_ms)
kill -TERM "$W1"
dl_wait 15 fresh_worker "$W1"
W2=$(worker_pid)
t1=$(dl_now_ms)
dl_ok "after SIGTERM the postmaster starts a new worker (pid $W1 → ${W2:-none}, $((t1 - t0)) ms)" \
	awk -v a="$W1" -v b="${W2:-}" 'BEGIN { exit !(b != "" && a != b) }'
dl_ok "the cluster itself was not reinitialised" \
	same "$(grep -c 'all server processes terminated; reinitializing' "$PGLOG_FILE")" 0
# ensure_worker: when no worker came back by itself, restart the cluster so
# the rest of the file still tests something.
ensure_worker() {
	fresh_worker && return 0
	echo "# no worker runs: restarting the cluster to go on"
	dl_cluster_restart && dl_wait 20 fresh_worker
}
ensure_worker

T2="worker after restart $stamp"
P2=$(dl_schedule "$(dl_content "$T2")" "$X" 1000)
dl_wait 15 dl_true "SELECT state = 'published' FROM caas.scheduled_posts WHERE post_id = '$P2'"
dl_ok "the new worker publishes" same "$(dl_post "$P2" state)/$(dl_fake_count "$T2")" "published/1"

# --------------------------------------- SIGTERM with posts in flight
P3="worker-inflight-$stamp"
dl_fake_mode x slow -1
dl_bulk_posts 40 "$X" "$P3" "now() + interval '500 milliseconds'" >/dev/null
dl_wait 20 dl_true "SELECT count(*) >= 1 FROM caas.scheduled_posts WHERE org_id = '$DL_ORG' AND state = 'publishing'"
W2=$(worker_pid)
kill -TERM "$W2"
dl_fake_mode x ok -1
dl_wait 15 fresh_worker "$W2"
ensure_worker
settled() {
	dl_true "SELECT NOT EXISTS (SELECT 1 FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
	                             WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$P3 %' AND s.state IN ('scheduled', 'publishing'))"
}
dl_wait 60 settled
dl_reconcile "$P3"
inflight_safe() {
	local k bad=""
	for k in pending other lost twice mismatched stray; do
		[ "$(dl_rc "$k")" = 0 ] || bad="$bad $k=$(dl_rc "$k")"
	done
	[ -z "$bad" ] || { echo "#   not clean:$bad"; return 1; }
}
dl_ok "SIGTERM mid-batch: every post published or unconfirmed, none lost or sent twice" inflight_safe
dl_ok "no duplicate at the fake" same "$(dl_fake_stat duplicates)" 0

# ------------------------------------------------------------ shutdown
t0=$(dl_now_ms)
pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 stop >/dev/null
rc=$?
dl_ok "pg_ctl stop -m fast stops the cluster with its worker ($(( $(dl_now_ms) - t0 )) ms)" same "$rc" 0
dl_ok "no token in clear in the server log" same "$(grep -c 'tok-[a-z]*-worker' "$PGLOG_FILE")" 0

[ "$DL_FAILED" = 1 ] && { dl_diag 40; grep -i 'dispatch' "$PGLOG_FILE" | tail -20 | sed 's/^/# /'; }
dl_done
