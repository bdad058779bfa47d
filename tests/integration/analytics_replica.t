#!/usr/bin/env bash
# tests/integration/analytics_replica.t — the caas_analyst views
# (extension/sql/0.2/085_analytics.sql) on a real streaming hot standby.
#
# Needs the harness's environment (PGHOST, PGPORT, PGDATABASE, PGUSER of the
# throwaway primary, and CAAS_TEST_DIR).  Commits two organisations with
# content, AI versions, published and other posts, usage and a subscription
# on the primary, clones the primary with pg_basebackup into a standby on a
# free port with its own socket directory, waits (polling, bounded) until
# the standby has replayed the primary's LSN, then compares every analytics
# view read as caas_analyst on both servers.  Also checks the expected
# figures, that the standby refuses writes (25006), that caas_analyst cannot
# read secrets or tenant tables directly (42501) and that caas_user cannot
# read the views.  The standby is stopped and deleted, and the test rows
# deleted from the primary, on any exit.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/pglib.sh disable=SC1091
source "$REPO/scripts/pglib.sh"

VIEWS=(analytics_posts_daily analytics_publish_lateness analytics_ai_models analytics_ai_usage analytics_quota_usage)
VIEW_LIST=$(printf "'%s'," "${VIEWS[@]}")
RUN=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
o1=$(printf 'an-org1-%s' "$RUN" | md5sum | cut -c1-32)
o2=$(printf 'an-org2-%s' "$RUN" | md5sum | cut -c1-32)
ORGS="'$o1'::uuid, '$o2'::uuid"

# q SQL / qs SQL: one statement string on the primary / the standby, as
# postgres, unaligned tuples only.  qv*: verbose errors (SQLSTATE) on stderr.
q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }
qs() { psql -X -q -tA -v ON_ERROR_STOP=1 -h "$SOCK" -p "$SPORT" -c "$1"; }
qsv() { psql -X -q -tA -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h "$SOCK" -p "$SPORT" -c "$1" 2>&1; }

SDIR=$(mktemp -d /tmp/caas-standby.XXXXXX)
chmod 755 "$SDIR"
pg_cluster_paths "$SDIR"
SDATA=$PGDATA_DIR
SOCK=$PGSOCK_DIR
SPORT=""

cleanup() {
	pg_cluster_stop "$SDIR" immediate >/dev/null 2>&1
	rm -rf "$SDIR"
	case "$SOCK" in "$SDIR"/*) ;; *) rm -rf "$SOCK" ;; esac
	q "DELETE FROM caas.scheduled_posts WHERE org_id IN ($ORGS);
	   DELETE FROM caas.organizations WHERE org_id IN ($ORGS);
	   DELETE FROM caas.users WHERE email LIKE 'an-$RUN-%'" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
# check DESCRIPTION COMMAND...: one TAP line, ok when COMMAND succeeds.
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
	fi
}
bail() { echo "Bail out! $*"; exit 1; }
same() { [ "$1" = "$2" ] || { echo "# got:      $1"; echo "# expected: $2"; return 1; }; }
has() { case "$1" in *"$2"*) return 0 ;; esac; echo "# got: $1"; return 1; }

echo "1..19"

# ------------------------------------------------------------- the primary
nviews=$(q "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = 'caas' AND c.relkind = 'v'
               AND c.relname IN (${VIEW_LIST%,})
               AND has_table_privilege('caas_analyst', c.oid, 'SELECT')
               AND NOT has_table_privilege('caas_user', c.oid, 'SELECT')
               AND obj_description(c.oid, 'pg_class') IS NOT NULL
               AND coalesce(c.reloptions::text, '') NOT LIKE '%security_invoker=true%'")
check "the 5 analytics views exist, are commented, not security_invoker, readable by caas_analyst only" \
	same "$nviews" 5

psql -X -q -v ON_ERROR_STOP=1 -v run="$RUN" -v o1="$o1" -v o2="$o2" >/dev/null <<'SQL' || bail "could not commit the test data on the primary"
SET client_min_messages = warning;
BEGIN;
INSERT INTO caas.users (user_id, email, password_hash) VALUES
  (md5(:'run' || 'u1')::uuid, 'an-' || :'run' || '-1@example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA'),
  (md5(:'run' || 'u2')::uuid, 'an-' || :'run' || '-2@example.com', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  (:'o1', 'Analytics one', 'an-' || :'run' || '-1'),
  (:'o2', 'Analytics two', 'an-' || :'run' || '-2');
-- o1 on Team, o2 on Free (no subscription).
INSERT INTO caas.subscriptions (org_id, plan_id, status) VALUES (:'o1', 'team', 'active');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  (:'o1', md5(:'run' || 'u1')::uuid, 'owner'), (:'o2', md5(:'run' || 'u2')::uuid, 'owner');
INSERT INTO caas.workspaces (org_id, workspace_id, name, slug) VALUES
  (:'o1', md5(:'run' || 'w1')::uuid, 'Main', 'main'), (:'o2', md5(:'run' || 'w2')::uuid, 'Main', 'main');
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status, access_token_enc, token_key_id)
SELECT :'o1'::uuid, md5(:'run' || a.k)::uuid, a.platform, a.k, a.status::caas.account_status,
       CASE WHEN a.status <> 'disconnected' THEN decode(repeat('ab', 40), 'hex') END,
       CASE WHEN a.status <> 'disconnected' THEN 'k1' END
  FROM (VALUES ('a1', 'sandbox', 'connected'), ('a2', 'x', 'connected')) a(k, platform, status);
INSERT INTO caas.social_accounts (org_id, account_id, platform, external_id, status, access_token_enc, token_key_id)
SELECT :'o2'::uuid, md5(:'run' || a.k)::uuid, a.platform, a.k, a.status::caas.account_status,
       CASE WHEN a.status <> 'disconnected' THEN decode(repeat('ab', 40), 'hex') END,
       CASE WHEN a.status <> 'disconnected' THEN 'k1' END
  FROM (VALUES ('a3', 'sandbox', 'connected'), ('a4', 'linkedin', 'disconnected')) a(k, platform, status);
-- Content c1..c4 in o1, c5..c6 in o2: each gets its manual version 1.
INSERT INTO caas.content (org_id, content_id, workspace_id, body)
SELECT CASE WHEN i <= 4 THEN :'o1'::uuid ELSE :'o2'::uuid END, md5(:'run' || 'c' || i)::uuid,
       md5(:'run' || CASE WHEN i <= 4 THEN 'w1' ELSE 'w2' END)::uuid, 'hello ' || i
  FROM generate_series(1, 6) i;
-- AI drafts as version 2 of c1, c2 (o1) and c5 (o2), written like the API does.
INSERT INTO caas.content_versions (org_id, content_id, version, body, source, ai_provider, ai_model,
                                   prompt_tokens, completion_tokens)
SELECT CASE WHEN v.c <= 4 THEN :'o1'::uuid ELSE :'o2'::uuid END, md5(:'run' || 'c' || v.c)::uuid, 2,
       'ai draft ' || v.c, 'ai', v.provider, v.model, v.pt, v.ct
  FROM (VALUES (1, 'openai', 'gpt-4o', 100, 50), (2, 'gemini', 'gemini-1.5-pro', 200, 80),
               (5, 'openai', 'gpt-4o', 10, 5)) v(c, provider, model, pt, ct);
UPDATE caas.content c SET body = v.body, current_version = 2
  FROM caas.content_versions v
 WHERE v.org_id = c.org_id AND v.content_id = c.content_id AND v.version = 2
   AND c.org_id IN (:'o1', :'o2');
-- Posts: o1 sandbox published 10, 30, 60, 120 s late; o1 x one published
-- 5 s late, one scheduled, one failed; o2 sandbox one published 2 s late,
-- one cancelled.
INSERT INTO caas.scheduled_posts (org_id, content_id, content_version, account_id, state, due_at, timezone,
                                  run_at, remote_id, published_at)
SELECT CASE WHEN p.c <= 4 THEN :'o1'::uuid ELSE :'o2'::uuid END, md5(:'run' || 'c' || p.c)::uuid, 1,
       md5(:'run' || p.a)::uuid, p.state::caas.post_state, p.due::timestamptz, 'Europe/Paris', p.due::timestamptz,
       CASE WHEN p.state = 'published' THEN 'r' || p.c || p.a END,
       CASE WHEN p.state = 'published' THEN p.due::timestamptz + make_interval(secs => p.late) END
  FROM (VALUES (1, 'a1', 'published', '2026-01-10 09:00:00+00', 10),
               (2, 'a1', 'published', '2026-01-10 12:00:00+00', 30),
               (3, 'a1', 'published', '2026-01-10 23:30:00+00', 60),
               (4, 'a1', 'published', '2026-01-11 08:00:00+00', 120),
               (1, 'a2', 'published', '2026-01-10 09:00:00+00', 5),
               (2, 'a2', 'scheduled', '2036-01-10 09:00:00+00', NULL),
               (3, 'a2', 'failed', '2026-01-11 09:00:00+00', NULL),
               (5, 'a3', 'published', '2026-01-12 09:00:00+00', 2),
               (6, 'a3', 'cancelled', '2026-01-12 10:00:00+00', NULL)) p(c, a, state, due, late);
INSERT INTO caas.usage (org_id, period_start, period_end, ai_generations, ai_prompt_tokens,
                        ai_completion_tokens, scheduled_posts, x_posts)
SELECT :'o1'::uuid, b.period_start, b.period_end, 3, 300, 130, 7, 3 FROM caas._billing_period(:'o1') b
UNION ALL
SELECT :'o2'::uuid, b.period_start, b.period_end, 1, 10, 5, 2, 0 FROM caas._billing_period(:'o2') b;
COMMIT;
SQL
lsn=$(q "SELECT pg_current_wal_lsn()")

# view_dump HOST_FN VIEW: the view's rows for the two test organisations,
# read as caas_analyst, sorted, one per line.
view_dump() {
	"$1" "SET ROLE caas_analyst;
	      SELECT coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '<none>')
	        FROM caas.$2 t WHERE t.org_id IN ($ORGS)"
}
primary_lateness=$(q "SET ROLE caas_analyst;
	SELECT string_agg(concat_ws(' ', platform, published_posts,
	                            round(avg_lateness_s::numeric, 1), round(p50_lateness_s::numeric, 1),
	                            round(p95_lateness_s::numeric, 1), round(max_lateness_s::numeric, 1)), '; ' ORDER BY org_id = '$o2', platform)
	  FROM caas.analytics_publish_lateness WHERE org_id IN ($ORGS)")
check "publish lateness on the primary: count, avg, p50, p95 (percentile_cont) and max per platform" \
	same "$primary_lateness" "sandbox 4 55.0 45.0 111.0 120.0; x 1 5.0 5.0 5.0 5.0; sandbox 1 2.0 2.0 2.0 2.0"
primary_quota=$(q "SET ROLE caas_analyst;
	SELECT string_agg(concat_ws(' ', plan_id, quota, used, quota_limit, percent), '; '
	                  ORDER BY org_id = '$o2', quota)
	  FROM caas.analytics_quota_usage WHERE org_id IN ($ORGS)")
check "quota usage on the primary: plan, current-period use and counts against each limit" \
	same "$primary_quota" "team ai_generations 3 2000 0.2; team members 1 25 4.0; team scheduled_posts 7 5000 0.1; team social_accounts 2 50 4.0; team workspaces 1 20 5.0; team x_posts 3 400 0.8; free ai_generations 1 20 5.0; free members 1 1 100.0; free scheduled_posts 2 30 6.7; free social_accounts 1 3 33.3; free workspaces 1 1 100.0; free x_posts 0 10 0.0"
primary_ai=$(q "SET ROLE caas_analyst;
	SELECT string_agg(concat_ws(' ', ai_generations, ai_prompt_tokens, ai_completion_tokens, ai_versions, by_model),
	                  '; ' ORDER BY org_id = '$o2')
	  FROM caas.analytics_ai_usage WHERE org_id IN ($ORGS)")
check "AI usage on the primary: metered counters and AI versions by provider and model" \
	same "$primary_ai" '3 300 130 2 [{"ai_model": "gemini-1.5-pro", "versions": 1, "ai_provider": "gemini", "prompt_tokens": 200, "completion_tokens": 80}, {"ai_model": "gpt-4o", "versions": 1, "ai_provider": "openai", "prompt_tokens": 100, "completion_tokens": 50}]; 1 10 5 1 [{"ai_model": "gpt-4o", "versions": 1, "ai_provider": "openai", "prompt_tokens": 10, "completion_tokens": 5}]'
primary_daily=$(q "SET ROLE caas_analyst;
	SELECT string_agg(concat_ws(' ', platform, state, day, posts), '; ' ORDER BY org_id = '$o2', platform, day, state)
	  FROM caas.analytics_posts_daily WHERE org_id IN ($ORGS)")
check "posts per day on the primary: by platform, state and UTC day of due_at" \
	same "$primary_daily" "sandbox published 2026-01-10 3; sandbox published 2026-01-11 1; x published 2026-01-10 1; x failed 2026-01-11 1; x scheduled 2036-01-10 1; sandbox published 2026-01-12 1; sandbox cancelled 2026-01-12 1"

# ------------------------------------------------------------- the standby
SPORT=$(pg_pick_port) || bail "no free port for the standby"
mkdir -p "$SDIR/log" "$SOCK"
[ "$(id -u)" -eq 0 ] && chown postgres: "$SDIR" "$SDIR/log" "$SOCK"
if pg_as "$PG_BINDIR/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$SDATA" \
	-R -X stream -c fast >"$SDIR/log/basebackup.log" 2>&1; then
	check "pg_basebackup -R -X stream clones the primary" true
else
	sed 's/^/# /' "$SDIR/log/basebackup.log"
	bail "pg_basebackup failed"
fi
# postgresql.auto.conf is read after caas-instance.conf, so these win over
# the primary's port and socket copied by the backup.
pg_as tee -a "$SDATA/postgresql.auto.conf" >/dev/null <<CONF
# analytics_replica.t: the standby's own instance settings.
port = $SPORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
hot_standby = on
CONF
pg_cluster_start "$SDIR" || bail "the standby did not start"
check "the standby runs on its own port and socket and preloads pg_cron and caas" \
	same "$(qs "SELECT current_setting('port') || ' ' || current_setting('unix_socket_directories') || ' '
	            || current_setting('shared_preload_libraries') || ' ' || current_setting('caas.post_max_attempts')")" \
	"$SPORT $SOCK pg_cron,caas 3"

replayed=""
for _ in $(seq 1 600); do
	replayed=$(qs "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)
	[ "$replayed" = t ] && break
	sleep 0.1
done
check "the standby is in recovery and has replayed the primary's LSN $lsn" same "$replayed" t
[ "$replayed" = t ] || bail "the standby did not catch up"

# same_on_both VIEW: the standby shows the primary's (non-empty) rows.
same_on_both() {
	local p s
	p=$(view_dump q "$1")
	s=$(view_dump qs "$1")
	[ "$p" != "<none>" ] && same "$s" "$p"
}
for v in "${VIEWS[@]}"; do
	check "caas.$v read as caas_analyst on the standby equals the primary" same_on_both "$v"
done

check "a write on the standby fails: read-only transaction (25006)" \
	has "$(qsv "INSERT INTO caas.usage (org_id, period_start, period_end)
	            VALUES ('$o1', '2000-01-01', '2000-02-01')")" \
	"25006: cannot execute INSERT in a read-only transaction"
check "caas_analyst cannot read caas.users.password_hash on the standby (42501)" \
	has "$(qsv "SET ROLE caas_analyst; SELECT password_hash FROM caas.users LIMIT 1")" \
	"42501: permission denied for table users"
check "caas_analyst cannot read social account token ciphertexts (42501)" \
	has "$(qsv "SET ROLE caas_analyst; SELECT access_token_enc, refresh_token_enc FROM caas.social_accounts LIMIT 1")" \
	"42501: permission denied for table social_accounts"
# token_hashes_hidden: neither refresh nor invitation token hashes are readable.
token_hashes_hidden() {
	has "$(qsv "SET ROLE caas_analyst; SELECT token_hash FROM caas.refresh_tokens LIMIT 1")" "42501: permission denied" &&
		has "$(qsv "SET ROLE caas_analyst; SELECT token_hash FROM caas.invitations LIMIT 1")" "42501: permission denied"
}
check "caas_analyst cannot read refresh or invitation token hashes (42501)" token_hashes_hidden
check "caas_analyst reads tenant tables only through the views (content: 42501)" \
	has "$(qsv "SET ROLE caas_analyst; SELECT count(*) FROM caas.content")" \
	"42501: permission denied for table content"
check "caas_user cannot read the analytics views (42501)" \
	has "$(qsv "SET ROLE caas_user; SELECT count(*) FROM caas.analytics_quota_usage")" \
	"42501: permission denied for view analytics_quota_usage"

[ "$n" -eq 19 ] || echo "# ran $n tests, planned 19"
