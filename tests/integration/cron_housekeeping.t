#!/usr/bin/env bash
# tests/integration/cron_housekeeping.t — pg_cron really runs the caas
# housekeeping job, and the job really expires invitations.
#
# Needs the harness's environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
# Speeds the job up to every minute, then waits (polling, bounded) for a
# run of it to succeed after an expired invitation was committed.
set -uo pipefail

q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

echo "1..4"

org=$(q "INSERT INTO caas.organizations (name, slug) VALUES ('Cron test', 'cron-test-' || substr(md5(random()::text), 1, 8)) RETURNING org_id")
inv=$(q "INSERT INTO caas.invitations (org_id, email, role, token_hash, created_at, expires_at)
         VALUES ('$org', 'late@example.com', 'member', sha256(gen_random_uuid()::text::bytea),
                 now() - interval '2 hours', now() - interval '1 hour')
         RETURNING invitation_id")
start=$(q "SELECT now()")

job=$(q "SELECT jobid FROM cron.job WHERE jobname = 'caas-housekeeping' AND database = current_database()")
if [ -n "$job" ]; then echo "ok 1 - the caas-housekeeping job is scheduled in this database"; else echo "not ok 1 - the caas-housekeeping job is scheduled in this database"; fi

q "SELECT cron.alter_job($job, schedule := '* * * * *')" >/dev/null
if [ "$(q "SELECT schedule FROM cron.job WHERE jobid = $job")" = "* * * * *" ]; then
	echo "ok 2 - the job can be rescheduled to every minute"
else
	echo "not ok 2 - the job can be rescheduled to every minute"
fi

# pg_cron starts jobs on minute boundaries: wait at most 150 s for a run
# that started after the invitation was committed.
status=""
for _ in $(seq 1 150); do
	status=$(q "SELECT status FROM cron.job_run_details
	            WHERE jobid = $job AND start_time >= '$start' AND status IN ('succeeded', 'failed')
	            ORDER BY start_time DESC LIMIT 1")
	[ -n "$status" ] && break
	sleep 1
done
if [ "$status" = succeeded ]; then
	echo "ok 3 - pg_cron ran caas.housekeeping() successfully"
else
	echo "not ok 3 - pg_cron ran caas.housekeeping() successfully (status: ${status:-no run within 150 s})"
	q "SELECT return_message FROM cron.job_run_details WHERE jobid = $job ORDER BY start_time DESC LIMIT 1" | sed 's/^/# /'
fi

inv_status=$(q "SELECT status FROM caas.invitations WHERE org_id = '$org' AND invitation_id = '$inv'")
if [ "$inv_status" = expired ]; then
	echo "ok 4 - the job marked the past-due invitation expired"
else
	echo "not ok 4 - the job marked the past-due invitation expired (status: $inv_status)"
fi

q "SELECT cron.alter_job($job, schedule := '*/5 * * * *')" >/dev/null
q "DELETE FROM caas.organizations WHERE org_id = '$org'" >/dev/null
