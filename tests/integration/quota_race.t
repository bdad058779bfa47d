#!/usr/bin/env bash
# tests/integration/quota_race.t — plan limits hold under concurrency
# (extension/sql/0.2/040_quotas.sql).
#
# Needs the harness's environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
# Commits an organisation on the Free plan, then races separate sessions
# against its limits: 8 sessions each create a workspace (limit 1), and 40
# sessions each consume one scheduled post (limit 30 a month).  A blocker
# session holds the contested row lock while the racers start, so they all
# queue on it and run together when it is released.  Exactly the limit must
# succeed and every other session fail with CA001; the org is deleted after.
set -uo pipefail

q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

WORK=$(mktemp -d /tmp/caas-quota-race.XXXXXX)
org=""
cleanup() {
	[ -n "$org" ] && q "DELETE FROM caas.organizations WHERE org_id = '$org'" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

# race NAME N LOCK_SQL STATEMENT: N sessions run STATEMENT while a blocker
# holds LOCK_SQL for 2 s; leaves NAME.<i>.rc and NAME.<i>.err in $WORK.
race() {
	local name=$1 n=$2 lock=$3 stmt=$4 i
	psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN; $lock; SELECT pg_sleep(2); COMMIT;" >/dev/null 2>"$WORK/$name.blocker.err" &
	local blocker=$!
	sleep 0.5
	for i in $(seq 1 "$n"); do
		( psql -X -q -tA -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$stmt" \
			>"$WORK/$name.$i.out" 2>"$WORK/$name.$i.err"; echo $? >"$WORK/$name.$i.rc" ) &
	done
	wait
	wait "$blocker" 2>/dev/null
}
succeeded() { grep -lx 0 "$WORK/$1".*.rc 2>/dev/null | wc -l; }
quota_failures() { grep -l 'CA001: quota exceeded' "$WORK/$1".*.err 2>/dev/null | wc -l; }

echo "1..6"

org=$(q "INSERT INTO caas.organizations (name, slug)
         VALUES ('Race', 'quota-race-' || substr(md5(random()::text), 1, 8)) RETURNING org_id")
plan=$(q "SELECT (caas.org_plan('$org')).plan_id")
if [ -n "$org" ] && [ "$plan" = free ]; then
	echo "ok 1 - a committed organisation without a subscription is on the Free plan"
else
	echo "not ok 1 - a committed organisation without a subscription is on the Free plan (plan: ${plan:-none})"
fi

# ---------------------------------------------- 8 racing workspaces, limit 1
race ws 8 "SELECT 1 FROM caas.organizations WHERE org_id = '$org' FOR UPDATE" \
	"INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('$org', 'W', 'w-' || pg_backend_pid())"
ok=$(succeeded ws); refused=$(quota_failures ws)
rows=$(q "SELECT count(*) FROM caas.workspaces WHERE org_id = '$org'")
if [ "$ok" -eq 1 ] && [ "$rows" -eq 1 ]; then
	echo "ok 2 - of 8 concurrent workspace creations on the Free plan exactly 1 succeeds"
else
	echo "not ok 2 - of 8 concurrent workspace creations on the Free plan exactly 1 succeeds (succeeded: $ok, rows: $rows)"
fi
if [ "$refused" -eq 7 ]; then
	echo "ok 3 - the other 7 fail with CA001"
else
	echo "not ok 3 - the other 7 fail with CA001 (CA001: $refused)"
	cat "$WORK"/ws.*.err | sort | uniq -c | sed 's/^/# /'
fi

# ------------------------------------ 40 racing scheduled posts, limit 30
limit=$(q "SELECT scheduled_posts_per_month FROM caas.plans WHERE plan_id = 'free'")
q "SELECT caas._consume('$org', 'scheduled_posts', 0)" >/dev/null   # the period's usage row, at 0
race sp 40 "SELECT 1 FROM caas.usage WHERE org_id = '$org' FOR UPDATE" \
	"SELECT caas._consume('$org', 'scheduled_posts', 1)"
ok=$(succeeded sp); refused=$(quota_failures sp)
used=$(q "SELECT sum(scheduled_posts) FROM caas.usage WHERE org_id = '$org'")
if [ "$limit" = 30 ] && [ "$ok" -eq 30 ]; then
	echo "ok 4 - of 40 concurrent scheduled-post uses with a limit of 30 exactly 30 succeed"
else
	echo "not ok 4 - of 40 concurrent scheduled-post uses with a limit of 30 exactly 30 succeed (limit: $limit, succeeded: $ok)"
fi
if [ "$refused" -eq 10 ]; then
	echo "ok 5 - the other 10 fail with CA001"
else
	echo "not ok 5 - the other 10 fail with CA001 (CA001: $refused)"
	cat "$WORK"/sp.*.err | sort | uniq -c | sed 's/^/# /'
fi
if [ "$used" = 30 ]; then
	echo "ok 6 - the usage counter stops at exactly 30"
else
	echo "not ok 6 - the usage counter stops at exactly 30 (counter: $used)"
fi
