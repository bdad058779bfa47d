# shellcheck shell=bash
# tests/integration/dispatch_lib.sh — what the dispatcher tests
# (tests/integration/dispatch_*.t) and bench/dispatch_bench.sh share: a
# private cluster, the fake platform server, dispatcher daemons, an
# organisation with social accounts whose tokens are sealed like caas-api
# seals them, posts, and bounded waits.  Sourced, not run.
#
# Why a private cluster and not the harness's: a running dispatcher claims
# every due post of the database, including other suites' posts (whose
# accounts hold made-up token bytes), and dispatch_crash.t restarts
# PostgreSQL.  So each test file gets its own cluster (scripts/pglib.sh,
# free port, socket and logs under the test directory) with
# caas.dispatcher_workers = 0 unless it asks for workers, and exports
# PGHOST/PGPORT/PGDATABASE/PGUSER for it.  Everything started here (cluster,
# fake, daemons) is stopped by the EXIT trap; the test directory is deleted,
# except its logs when a check failed or DISPATCH_KEEP=1.
#
# Binaries: bgworker/build/caas-dispatcher (make -C bgworker), the fake
# tests/fakes/build/fake_platform (make -C tests/fakes), and
# tests/tools/build/seal_token (built here on first use).
#
# Environment:
#   DISPATCH_DEV_SQL=1  install the caas extension at 0.1 and load the
#                       work-in-progress extension/sql/<dev>/*.sql on top
#                       (for working before `make install`); default: the
#                       installed extension, as tests/run.sh does.
#   DISPATCH_KEEP=1     keep the test directory (logs, configs).
#   DISPATCH_DISPATCHER_BIN, DISPATCH_FAKE_BIN
#                       other builds of the daemon and the fake (the ASan
#                       ones in build-asan/, say).
#
# Tokens: the key ring is a fresh random key per run in DL_DIR/token_keys;
# clear tokens ("tok-…") go to seal_token on standard input and never to a
# log line or TAP output.
#
# Waiting: dl_wait polls a condition every 50 ms up to a deadline; no test
# sleeps instead of checking.

DL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/pglib.sh
source "$DL_REPO/scripts/pglib.sh"

DL_DISPATCHER=${DISPATCH_DISPATCHER_BIN:-$DL_REPO/bgworker/build/caas-dispatcher}
DL_SEAL="$DL_REPO/tests/tools/build/seal_token"
DL_FAKE_BIN=""
for _f in ${DISPATCH_FAKE_BIN:-} "$DL_REPO/tests/fakes/build/fake_platform"; do
	if [ -x "$_f" ]; then DL_FAKE_BIN=$_f; break; fi
done

DL_DIR=$(mktemp -d /tmp/caas-dispatch.XXXXXX)
chmod 755 "$DL_DIR"
DL_KID=t1
DL_KEYS="$DL_DIR/token_keys"
DL_DB=caas
DL_PG=""		# cluster directory, once up
DL_FAKE_PID=""
DL_FAILED=0
declare -A DL_PID=()	# daemon name → pid
dl_n=0

# ------------------------------------------------------------------ TAP --

# dl_ok DESCRIPTION COMMAND...: one TAP line, ok when COMMAND succeeds.
dl_ok() {
	local desc=$1
	shift
	dl_n=$((dl_n + 1))
	if "$@"; then
		echo "ok $dl_n - $desc"
	else
		echo "not ok $dl_n - $desc"
		DL_FAILED=1
	fi
}

# same GOT WANT / has GOT PART / ge GOT MIN / le GOT MAX: assertions with a
# diagnostic on failure.
same() { [ "$1" = "$2" ] || { echo "#   got:      $1"; echo "#   expected: $2"; return 1; }; }
has() { case "$1" in *"$2"*) return 0 ;; esac; echo "#   got: $1"; echo "#   expected to contain: $2"; return 1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }' || { echo "#   got $1, expected >= $2"; return 1; }; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }' || { echo "#   got $1, expected <= $2"; return 1; }; }

# dl_done: the trailing plan.
dl_done() { echo "1..$dl_n"; }

# dl_bail MESSAGE: stop the file (the logs' tails as diagnostics).
dl_bail() {
	DL_FAILED=1
	dl_diag
	echo "Bail out! $*"
	exit 1
}

# dl_diag [LINES]: the tails of the daemons', the fake's and the cluster's logs.
dl_diag() {
	local f
	for f in "$DL_DIR"/*.log "$DL_DIR"/pg/log/postgresql.log; do
		[ -s "$f" ] || continue
		echo "# --- ${f#"$DL_DIR"/} (last ${1:-15} lines)"
		tail -n "${1:-15}" "$f" | sed 's/^/#   /'
	done
}

# ----------------------------------------------------------------- time --

dl_now_ms() { date +%s%3N; }

# dl_wait SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds;
# 1 when SECONDS (may be fractional) pass first.
dl_wait() {
	local end
	end=$(( $(dl_now_ms) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }') ))
	shift
	while :; do
		"$@" && return 0
		[ "$(dl_now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ------------------------------------------------------------------ SQL --

# dl_q SQL: one statement string as the superuser, bare rows.
dl_q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

# dl_true SQL: SQL returns exactly "t".
dl_true() { [ "$(dl_q "$1" 2>/dev/null)" = t ]; }

# dl_as_user SQL: SQL in one transaction as caas_user with the test user's
# claims (how caas-api calls the database); bare rows.
dl_as_user() {
	psql -X -q -tA -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT set_config('role', 'caas_user', true),
       set_config('request.jwt.claims', '{"sub":"$DL_USER"}', true) \\g /dev/null
$1;
COMMIT;
SQL
}

# dl_cluster_up [CONF-LINE...]: a private cluster under DL_DIR/pg with the
# caas extension and the plan fixtures, caas.dispatcher_workers = 0 unless
# a CONF-LINE sets it; exports PGHOST, PGPORT, PGDATABASE, PGUSER.
dl_cluster_up() {
	local line try
	DL_PG="$DL_DIR/pg"
	mkdir -p "$DL_PG"
	chmod 755 "$DL_PG"
	pg_cluster_init "$DL_PG" >/dev/null || dl_bail "could not create the cluster"
	{
		echo "# tests/integration/dispatch_lib.sh"
		printf '%s\n' "$@" | grep -q '^caas.dispatcher_workers' || echo "caas.dispatcher_workers = 0"
		echo "log_min_duration_statement = -1"
		for line in "$@"; do echo "$line"; done
	} | pg_as tee -a "$PGDATA_DIR/postgresql.auto.conf" >/dev/null
	# A port found free may be taken before the server binds it: try another.
	for try in 1 2 3; do
		DL_PORT=$(pg_pick_port) || dl_bail "no free port"
		pg_cluster_configure "$DL_PG" "$DL_PORT" "$DL_DB" || dl_bail "could not configure the cluster"
		pg_cluster_start "$DL_PG" 2>>"$DL_DIR/cluster_start.err" && break
		[ "$try" = 3 ] && { cat "$DL_DIR/cluster_start.err" >&2; dl_bail "the cluster did not start"; }
	done
	pg_cluster_paths "$DL_PG"
	DL_SOCK=$PGSOCK_DIR
	export PGHOST="$DL_SOCK" PGPORT="$DL_PORT" PGDATABASE="$DL_DB" PGUSER=postgres
	if [ "${DISPATCH_DEV_SQL:-0}" = 1 ]; then
		dl_dev_sql || dl_bail "could not load the work-in-progress SQL"
	else
		pg_database_setup "$DL_PG" "$DL_PORT" "$DL_DB" >"$DL_DIR/setup.out" 2>&1 ||
			{ cat "$DL_DIR/setup.out" >&2; dl_bail "could not install caas"; }
	fi
}

# dl_dev_sql: caas 0.1 from the installed scripts, then the version under
# development from extension/sql/<version>/ as plain SQL.
dl_dev_sql() {
	local v
	v=$(sed -n 's/^CAAS_VERSION *= *//p' "$DL_REPO/extension/Makefile")
	echo "# DISPATCH_DEV_SQL=1: caas 0.1 + extension/sql/$v/*.sql (work in progress)"
	pg_psql "$DL_PG" "$DL_PORT" postgres -c "CREATE DATABASE $DL_DB" >/dev/null &&
		pg_psql "$DL_PG" "$DL_PORT" "$DL_DB" -c "SET client_min_messages = warning; CREATE EXTENSION caas VERSION '0.1' CASCADE" &&
		{ echo "SET client_min_messages = warning;"; cat "$DL_REPO"/extension/sql/"$v"/*.sql; } |
		sed 's,MODULE_PATHNAME,$libdir/caas,g' | pg_psql "$DL_PG" "$DL_PORT" "$DL_DB" >"$DL_DIR/setup.out" 2>&1 &&
		pg_psql "$DL_PG" "$DL_PORT" "$DL_DB" -f "$DL_REPO/sql/fixtures/plans.sql" >/dev/null ||
		{ tail -5 "$DL_DIR/setup.out" >&2; return 1; }
}

# dl_cluster_restart: pg_ctl restart -m fast (the daemons stay up).
dl_cluster_restart() {
	pg_cluster_paths "$DL_PG"
	pg_as "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG_FILE" -m fast -w -t 60 restart >/dev/null
}

# dl_conninfo: how a daemon reaches the private cluster (as postgres,
# over the socket; it then SETs ROLE caas_dispatcher).
dl_conninfo() { echo "host=$DL_SOCK port=$DL_PORT dbname=$DL_DB user=postgres"; }

# ------------------------------------------------------------- tokens --

# dl_keys: a fresh key ring file, readable by the postgres user too (the
# background worker reads it).
dl_keys() {
	[ -s "$DL_KEYS" ] && return 0
	(umask 077 && echo "$DL_KID:$(head -c 32 /dev/urandom | base64 -w0)" >"$DL_KEYS")
	[ "$(id -u)" -eq 0 ] && chown postgres: "$DL_KEYS"
	if [ ! -x "$DL_SEAL" ] || [ "$DL_REPO/tests/tools/seal_token.c" -nt "$DL_SEAL" ]; then
		make -s -C "$DL_REPO/tests/tools" >"$DL_DIR/seal_build.out" 2>&1 ||
			{ cat "$DL_DIR/seal_build.out" >&2; dl_bail "could not build tests/tools/build/seal_token"; }
	fi
}

# dl_seal ORG SUBJECT KIND TOKEN: base64 of TOKEN sealed for (ORG, SUBJECT, KIND).
dl_seal() {
	dl_keys
	printf '%s' "$4" | "$DL_SEAL" "$DL_KEYS" "$DL_KID" "$1" "$2" "$3"
}

# dl_token ACCOUNT KIND: the account's stored access or refresh token,
# opened (seal_token -d); for comparisons only, never print it.  Status 1
# when there is none or it does not open.
dl_token() {
	local subj kid b64
	read -r subj kid b64 <<<"$(dl_q "SELECT platform || ':' || external_id, coalesce(token_key_id, '-'),
	                                        coalesce(translate(encode(${2}_token_enc, 'base64'), E'\n', ''), '')
	                                   FROM caas.social_accounts WHERE org_id = '$DL_ORG' AND account_id = '$1'" | tr '|' ' ')"
	[ -n "$b64" ] || return 1
	printf '%s' "$b64" | "$DL_SEAL" -d "$DL_KEYS" "$kid" "$DL_ORG" "$subj" "$2" 2>/dev/null
}

# ------------------------------------------------------- organisation --

# dl_org_setup: a user (DL_USER) owning an organisation (DL_ORG) on the
# test plan "dispatch_test" (Team without quotas, so tests can schedule
# hundreds of X posts) with a workspace (DL_WS).
dl_org_setup() {
	local stamp
	stamp=$(date +%s%N)
	dl_q "INSERT INTO caas.plans (plan_id, name, price_cents, currency, billing_interval, sort_order, is_public,
	                              max_members, max_workspaces, max_social_accounts,
	                              ai_generations_per_month, scheduled_posts_per_month, x_posts_per_month)
	      VALUES ('dispatch_test', 'Dispatch tests', 0, 'usd', 'month', 99, false,
	              NULL, NULL, NULL, NULL, NULL, NULL)
	      ON CONFLICT (plan_id) DO NOTHING" >/dev/null || dl_bail "could not add the test plan"
	DL_USER=$(dl_q "INSERT INTO caas.users (email, password_hash)
	                VALUES ('dispatch-$stamp@example.com', '\$argon2id\$x') RETURNING user_id")
	DL_ORG=$(dl_q "INSERT INTO caas.organizations (name, slug) VALUES ('Dispatch', 'dispatch-$stamp') RETURNING org_id")
	dl_q "INSERT INTO caas.organization_members (org_id, user_id, role) VALUES ('$DL_ORG', '$DL_USER', 'owner');
	      INSERT INTO caas.subscriptions (org_id, plan_id, status) VALUES ('$DL_ORG', 'dispatch_test', 'active')" >/dev/null
	DL_WS=$(dl_q "INSERT INTO caas.workspaces (org_id, name, slug) VALUES ('$DL_ORG', 'Main', 'main') RETURNING workspace_id")
	[ -n "$DL_USER" ] && [ -n "$DL_ORG" ] && [ -n "$DL_WS" ] || dl_bail "could not create the organisation"
}

# dl_account PLATFORM EXTERNAL-ID ACCESS [REFRESH [EXPIRES-AT]]: connects
# an account through caas.account_connect as the owner, tokens sealed with
# subject "<platform>:<external_id>"; prints the account id.
dl_account() {
	local platform=$1 ext=$2 access refresh="NULL" expires="NULL"
	access="decode('$(dl_seal "$DL_ORG" "$platform:$ext" access "$3")', 'base64')"
	[ -n "${4:-}" ] && refresh="decode('$(dl_seal "$DL_ORG" "$platform:$ext" refresh "$4")', 'base64')"
	[ -n "${5:-}" ] && expires="'$5'::timestamptz"
	dl_as_user "SELECT caas.account_connect('$DL_ORG', '$platform', '$ext', 'h-$ext', 'Test $platform',
	                                         $access, $refresh, '$DL_KID', $expires, NULL) ->> 'account_id'"
}

# dl_content BODY [MEDIA-URL]: a content item (version 1) through
# caas.content_create as the owner; prints its id.
dl_content() {
	local media="'{}'"
	[ -n "${2:-}" ] && media="ARRAY['$2']"
	dl_as_user "SELECT caas.content_create('$DL_ORG', '$DL_WS', 'T', \$body\$$1\$body\$, NULL, $media) ->> 'content_id'"
}

# dl_schedule CONTENT ACCOUNT DELAY-MS: schedules through caas.post_schedule
# as the owner, due DELAY-MS from the database's clock; prints the post id.
dl_schedule() {
	dl_as_user "SELECT caas.post_schedule('$DL_ORG', '$1', '$2',
	               to_char((clock_timestamp() + make_interval(secs => $3 / 1000.0)) AT TIME ZONE 'UTC',
	                       'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'UTC') ->> 'post_id'"
}

# dl_post POST COLUMN: one column of a post, as text.
dl_post() { dl_q "SELECT $2 FROM caas.scheduled_posts WHERE org_id = '$DL_ORG' AND post_id = '$1'"; }

# dl_bulk_posts N ACCOUNT PREFIX DUE-SQL: N posts in one transaction as the
# superuser (content + version 1 by the trigger + scheduled_posts rows in
# state scheduled, pinned to version 1, run_at = due_at = DUE-SQL, an SQL
# expression of n in 1..N), then the wake-up caas.post_schedule would send;
# texts are "PREFIX n".  Prints how many posts were created.
dl_bulk_posts() {
	psql -X -q -tA -v ON_ERROR_STOP=1 <<SQL
BEGIN;
CREATE TEMP TABLE bulk ON COMMIT DROP AS
  SELECT n, gen_random_uuid() AS content_id, ($4) AS due FROM generate_series(1, $1) n;
INSERT INTO caas.content (org_id, content_id, workspace_id, title, body)
  SELECT '$DL_ORG', b.content_id, '$DL_WS', 'bulk', '$3 ' || b.n FROM bulk b;
INSERT INTO caas.scheduled_posts (org_id, content_id, content_version, account_id, due_at, timezone, run_at)
  SELECT '$DL_ORG', b.content_id, 1, '$2', b.due, 'UTC', b.due FROM bulk b;
SELECT caas._post_wake(min(due)) FROM bulk \\g /dev/null
SELECT count(*) FROM bulk;
COMMIT;
SQL
}

# dl_states: "state=count ..." of the organisation's posts, sorted.
dl_states() {
	dl_q "SELECT coalesce(string_agg(state || '=' || n, ' ' ORDER BY state), '-')
	        FROM (SELECT state::text, count(*) n FROM caas.scheduled_posts WHERE org_id = '$DL_ORG' GROUP BY 1) s"
}

# ------------------------------------------------------- the fake --

# dl_fake_start: the fake platform on a free loopback port (--port 0);
# sets FAKE (its base URL) once it printed "listening on PORT".
dl_fake_start() {
	local port
	[ -n "$DL_FAKE_BIN" ] || dl_bail "tests/fakes/build/fake_platform is missing (make -C tests/fakes)"
	"$DL_FAKE_BIN" --port 0 --log "$DL_DIR/fake_requests.log" >"$DL_DIR/fake.log" 2>&1 &
	DL_FAKE_PID=$!
	dl_wait 10 grep -q "listening on [0-9]" "$DL_DIR/fake.log" || dl_bail "the fake platform did not start"
	port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$DL_DIR/fake.log" | head -n 1)
	FAKE="http://127.0.0.1:$port"
}

dl_fake_stop() {
	if [ -n "$DL_FAKE_PID" ] && kill -0 "$DL_FAKE_PID" 2>/dev/null; then
		kill -TERM "$DL_FAKE_PID"
		wait "$DL_FAKE_PID" 2>/dev/null
	fi
	DL_FAKE_PID=""
}

# dl_fake_mode PLATFORM MODE [COUNT [RETRY-AFTER [EXTRA-JSON]]]: EXTRA-JSON
# adds fields, e.g. '{"path_contains":"media_publish"}'.
dl_fake_mode() {
	local body
	body=$(jq -cn --arg p "$1" --arg m "$2" --argjson c "${3:--1}" --argjson r "${4:-0}" --argjson x "${5:-{\}}" \
		'{platform:$p, mode:$m, count:$c} + (if $r > 0 then {retry_after:$r} else {} end) + $x')
	curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "$body" "$FAKE/_fake/mode" ||
		dl_bail "the fake refused mode $body"
}
dl_fake_reset() { curl -fsS -o /dev/null -X POST "$FAKE/_fake/reset" || dl_bail "the fake refused a reset"; }
# dl_fake_posts [JQ-FILTER]: /_fake/posts, filtered.
dl_fake_posts() { curl -fsS "$FAKE/_fake/posts" | jq -c "${1:-.}"; }
# dl_fake_stat KEY: one field of /_fake/stats.
dl_fake_stat() { curl -fsS "$FAKE/_fake/stats" | jq -r ".$1"; }
# dl_fake_count TEXT: how many posts the fake holds with exactly TEXT.
dl_fake_count() { curl -fsS "$FAKE/_fake/posts" | jq --arg t "$1" '[.[] | select(.text == $t)] | length'; }
# dl_fake_received_ge N: the fake holds at least N posts.
dl_fake_received_ge() { [ "$(curl -fsS "$FAKE/_fake/posts" | jq length)" -ge "$1" ] 2>/dev/null; }

# dl_fake_tsv PREFIX FILE: the fake's posts whose text starts with
# "PREFIX " as text<TAB>id<TAB>received_us lines.
dl_fake_tsv() {
	curl -fsS "$FAKE/_fake/posts" |
		jq -r --arg p "$1 " '.[] | select((.text // "") | startswith($p)) | [.text, (.id // ""), (.received_us // 0 | tostring)] | @tsv' >"$2"
}

# dl_reconcile PREFIX: the organisation's posts whose text starts with
# "PREFIX " against what the fake received, one line of key=value:
#   posts, published, unconfirmed, unconfirmed_sent (unconfirmed, at the
#   fake once), pending (scheduled or publishing), other (failed,
#   cancelled), lost (published but not at the fake), twice (at the fake
#   more than once), mismatched (published, at the fake once, another id),
#   stray (at the fake, no such post).
# dl_rc KEY reads one value of the last reconcile (RC).
dl_reconcile() {
	dl_fake_tsv "$1" "$DL_DIR/reconcile.tsv"
	RC=$(psql -X -q -tA -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE f (text text, id text, received_us bigint);
\copy f FROM '$DL_DIR/reconcile.tsv'
WITH fc AS (SELECT text, count(*) AS n, min(id) AS id FROM f GROUP BY text),
     p AS (SELECT c.body, s.state::text AS state, s.remote_id
             FROM caas.scheduled_posts s JOIN caas.content c USING (org_id, content_id)
            WHERE s.org_id = '$DL_ORG' AND c.body LIKE '$1 %'),
     j AS (SELECT p.*, fc.n, fc.id FROM p LEFT JOIN fc ON fc.text = p.body)
SELECT format('posts=%s published=%s unconfirmed=%s unconfirmed_sent=%s pending=%s other=%s lost=%s twice=%s mismatched=%s stray=%s',
              count(*), count(*) FILTER (WHERE state = 'published'),
              count(*) FILTER (WHERE state = 'unconfirmed'),
              count(*) FILTER (WHERE state = 'unconfirmed' AND n = 1),
              count(*) FILTER (WHERE state IN ('scheduled', 'publishing')),
              count(*) FILTER (WHERE state IN ('failed', 'cancelled')),
              count(*) FILTER (WHERE state = 'published' AND n IS NULL),
              count(*) FILTER (WHERE n > 1),
              count(*) FILTER (WHERE state = 'published' AND n = 1 AND id IS DISTINCT FROM remote_id),
              (SELECT count(*) FROM fc WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.body = fc.text)))
  FROM j;
SQL
)
	echo "# reconcile $1: $RC"
}
dl_rc() { printf '%s\n' "$RC" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# --------------------------------------------------------- daemons --

# dl_conf NAME [KEY VALUE]...: writes DL_DIR/NAME.conf, the test settings
# (the private cluster, the key ring, every adapter at the fake) with the
# given keys added or replaced; prints its path.
dl_conf() {
	local name=$1 f="$DL_DIR/$1.conf"
	shift
	dl_keys
	{
		echo "# written by tests/integration/dispatch_lib.sh"
		echo "name $name"
		echo "database_url $(dl_conninfo)"
		echo "token_keys_file $DL_KEYS"
		echo "token_key_id $DL_KID"
		echo "x.base_url $FAKE"
		echo "x.token_url $FAKE/2/oauth2/token"
		echo "x.client_id caas-test"
		echo "linkedin.base_url $FAKE"
		echo "linkedin.token_url $FAKE/oauth/v2/accessToken"
		echo "linkedin.client_id caas-test"
		echo "instagram.base_url $FAKE"
		echo "instagram.refresh_url $FAKE/refresh_access_token"
		echo "instagram.poll_interval_ms 100"
		echo "log_level debug"
		echo "connect_timeout_ms 1000"
		while [ $# -ge 2 ]; do
			echo "$1 $2"
			shift 2
		done
	} | awk '{ k = $1; if (!(k in v)) o[++n] = k; v[k] = $0 } END { for (i = 1; i <= n; i++) print v[o[i]] }' >"$f"
	chmod 644 "$f"
	echo "$f"
}

# dl_daemon_start NAME [KEY VALUE]...: caas-dispatcher with dl_conf NAME
# ..., its stderr in DL_DIR/NAME.log (appended across restarts); waits until
# its heartbeat row names its pid.
dl_daemon_start() {
	local name=$1 conf pid
	[ -x "$DL_DISPATCHER" ] || dl_bail "bgworker/build/caas-dispatcher is missing (make -C bgworker)"
	conf=$(dl_conf "$@")
	echo "=== start $(date -u +%FT%T.%3NZ)" >>"$DL_DIR/$name.log"
	"$DL_DISPATCHER" -c "$conf" >>"$DL_DIR/$name.log" 2>&1 &
	pid=$!
	DL_PID[$name]=$pid
	dl_wait 15 dl_started "$pid" ||
		dl_bail "dispatcher $name (pid $pid) did not send a heartbeat within 15 s"
	dl_pid_gone "$pid" && dl_bail "dispatcher $name (pid $pid) exited at start: $(tail -n 1 "$DL_DIR/$name.log")"
}

# dl_started PID: its heartbeat row is there (status 0), or it exited (status 0
# too, so the wait ends; the caller checks).
dl_started() {
	dl_pid_gone "$1" && return 0
	dl_true "SELECT EXISTS (SELECT 1 FROM caas.dispatchers WHERE pid = $1 AND kind = 'daemon')"
}

# dl_daemon_alive NAME
dl_daemon_alive() { [ -n "${DL_PID[$1]:-}" ] && kill -0 "${DL_PID[$1]}" 2>/dev/null; }

# dl_daemon_stop NAME [SIGNAL]: TERM (or SIGNAL) and wait up to 20 s for
# the exit; echoes the exit status.  KILLs after the wait.
dl_daemon_stop() {
	local pid=${DL_PID[$1]:-} rc
	[ -n "$pid" ] || return 0
	{
		kill -"${2:-TERM}" "$pid"
		if ! dl_wait 20 dl_pid_gone "$pid"; then
			echo "# dispatcher $1 (pid $pid) still runs 20 s after SIG${2:-TERM}; killing it" >&3
			kill -KILL "$pid"
		fi
		wait "$pid"
		rc=$?
	} 3>&1 2>/dev/null	# not the shell's "Killed" notice
	unset "DL_PID[$1]"
	DL_LAST_RC=$rc
}
dl_pid_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }

# dl_rss_peak PID: VmHWM in kB.
dl_rss_peak() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# --------------------------------------------------------- cleanup --

dl_cleanup() {
	local name
	for name in "${!DL_PID[@]}"; do
		kill -TERM "${DL_PID[$name]}" 2>/dev/null
	done
	for name in "${!DL_PID[@]}"; do
		dl_wait 10 dl_pid_gone "${DL_PID[$name]}" || kill -KILL "${DL_PID[$name]}" 2>/dev/null
		wait "${DL_PID[$name]}" 2>/dev/null
	done
	dl_fake_stop
	if [ -n "$DL_PG" ]; then
		pg_cluster_stop "$DL_PG" immediate >/dev/null 2>&1
		pg_cluster_paths "$DL_PG"
		case "$PGSOCK_DIR" in "$DL_PG"/*) ;; *) rm -rf "$PGSOCK_DIR" ;; esac
	fi
	if [ "$DL_FAILED" = 1 ] || [ "${DISPATCH_KEEP:-0}" = 1 ]; then
		[ -n "$DL_PG" ] && rm -rf "$DL_PG/pgdata"
		echo "# logs kept in $DL_DIR"
	else
		rm -rf "$DL_DIR"
	fi
}
trap dl_cleanup EXIT
trap 'exit 130' INT TERM
