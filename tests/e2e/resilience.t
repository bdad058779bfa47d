#!/usr/bin/env bash
# tests/e2e/resilience.t — caas-api under hostile or unlucky conditions:
# its database goes away and comes back (a private throwaway cluster, so
# the other tests' cluster is never disturbed), idle and half-sent
# connections, CORS, a flood of malformed requests, and SIGTERM while a
# slow upload is in flight.  Every wait is bounded polling.
source "$(dirname "$0")/lib.sh"

# now_ms — milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# closed_within FD SECONDS — read FD until the peer closes it (EOF); prints
# the milliseconds that took, or nothing when it stayed open SECONDS.
closed_within() {
	local fd=$1 limit_ms=$(($2 * 1000)) t0 rc junk
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt "$limit_ms" ]; do
		IFS= read -r -t 0.2 -u "$fd" junk
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ]; then	# EOF (not a timeout)
			echo $(($(now_ms) - t0))
			return 0
		fi
	done
	return 1
}

OWN=$(mktemp -d /tmp/caas-res.XXXXXX)
chmod 755 "$OWN"
pg_cluster_paths "$OWN"
OWN_SOCK=$PGSOCK_DIR
own_cleanup() {
	api_stop
	pg_cluster_stop "$OWN" immediate >/dev/null 2>&1
	rm -rf "$OWN" "$E2E_TMP"
	case "$OWN_SOCK" in "$OWN"/*) ;; *) rm -rf "$OWN_SOCK" ;; esac
}
trap own_cleanup EXIT

echo "1..23"

# ============================================ the database goes away, returns
# A free port can be taken between picking and binding: three tries.
own_setup() {
	local try
	pg_cluster_init "$OWN" || return 1
	for try in 1 2 3; do
		OWN_PORT=$(pg_pick_port) || return 1
		pg_cluster_configure "$OWN" "$OWN_PORT" res && pg_cluster_start "$OWN" && break
		echo "cluster start failed on port $OWN_PORT (try $try)"
		OWN_PORT=
	done
	[ -n "$OWN_PORT" ] && pg_database_setup "$OWN" "$OWN_PORT" res
}
own_setup >"$OWN/setup.log" 2>&1 || {
	echo "Bail out! could not set up a private cluster"
	sed 's/^/# /' "$OWN/setup.log"
	exit 1
}
api_start CAAS_API_DATABASE_URL="host=$OWN_SOCK port=$OWN_PORT dbname=res user=caas_authenticator"
stamp=$(date +%s%N)
TOKEN=$(user_token "survivor$stamp@example.com")
req GET /api/v1/users/me/ "" "$TOKEN"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .email)" = "survivor$stamp@example.com" ]' \
	"on a private cluster: register, log in, authenticated call"
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ]' "health is 200 while the database is up"

pg_cluster_stop "$OWN" fast
t0=$(now_ms)
req GET /api/v1/health/
ms=$(($(now_ms) - t0))
ok '[ "$STATUS" = 503 ] && [ "$(jq_body .database)" = unreachable ] && [ "$ms" -lt 5000 ]' \
	"database stopped: health answers 503 in ${ms} ms"
worst=0 bad=0
for i in 1 2 3 4 5 6 7 8; do	# more calls than threads: every thread meets the outage
	t0=$(now_ms)
	req GET /api/v1/users/me/ "" "$TOKEN"
	ms=$(($(now_ms) - t0))
	[ "$ms" -gt "$worst" ] && worst=$ms
	[ "$STATUS" = 503 ] && [ "$(jq_body .code)" = 08006 ] && [ -n "$(jq_body .message)" ] || bad=$((bad + 1))
done
ok '[ "$bad" = 0 ]' "every API call answers 503 with the JSON envelope (code 08006)"
ok '[ "$worst" -lt 5000 ]' "quickly: the slowest took ${worst} ms"
ok 'kill -0 "$API_PID"' "the server keeps running without its database"

pg_cluster_start "$OWN" >/dev/null
up=no
for i in $(seq 1 100); do	# 10 s at most
	req GET /api/v1/health/
	[ "$STATUS" = 200 ] && { up=yes; break; }
	sleep 0.1
done
ok '[ "$up" = yes ]' "database back: health is 200 again, without restarting the server"
works=no
for i in $(seq 1 20); do	# a stale connection may answer 503 once per thread
	req GET /api/v1/users/me/ "" "$TOKEN"
	[ "$STATUS" = 200 ] && { works=yes; break; }
done
ok '[ "$works" = yes ] && [ "$(jq_body .email)" = "survivor$stamp@example.com" ]' \
	"an authenticated call works again, without restarting the server"

# A restart between two requests: every thread's connection is now stale.
# Nothing was sent on it, so the server can reconnect and go on.
for i in 1 2 3 4 5 6 7 8; do req GET /api/v1/users/me/ "" "$TOKEN"; done
pg_cluster_stop "$OWN" fast && pg_cluster_start "$OWN" >/dev/null
fails=0
for i in 1 2 3 4 5 6 7 8; do
	req GET /api/v1/users/me/ "" "$TOKEN"
	[ "$STATUS" = 200 ] || { fails=$((fails + 1)); echo "# call $i after the restart: $STATUS ${BODY:0:100}"; }
done
ok '[ "$fails" = 0 ]' \
	"after a database restart between requests, no call fails ($fails of 8 answered 503)"
api_stop
pg_cluster_stop "$OWN" fast

# ======================================== timeouts, CORS, malformed requests
ORIGIN=https://app.example.com
api_start CAAS_API_CONNECTION_TIMEOUT_SEC=2 CAAS_API_CORS_ORIGINS="$ORIGIN"
PORT=${API##*:}

exec 5<>"/dev/tcp/127.0.0.1/$PORT"
ms=$(closed_within 5 6)
ok '[ -n "$ms" ] && [ "$ms" -ge 1000 ]' "an idle connection is closed after connection_timeout_sec (${ms:-never} ms)"
exec 5<&-

exec 6<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /api/v1/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ' >&6
ms=$(closed_within 6 6)
ok '[ -n "$ms" ] && [ "$ms" -ge 1000 ]' "a request whose headers never finish is closed by the timeout (${ms:-never} ms)"
exec 6<&-

exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /api/v1/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em' >&7
ms=$(closed_within 7 6)
ok '[ -n "$ms" ]' "a body that never arrives is closed by the timeout too (${ms:-never} ms)"
exec 7<&-
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ]' "the server still answers"

curl -s -o /dev/null -D "$E2E_TMP/h1" -w '%{http_code}' -X OPTIONS "$API/api/v1/auth/login/" \
	-H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: content-type' >"$E2E_TMP/s1"
ok '[ "$(cat "$E2E_TMP/s1")" = 204 ] && [ "$(header_of Access-Control-Allow-Origin "$E2E_TMP/h1")" = "$ORIGIN" ]' \
	"CORS preflight from the allowed origin: 204 with Access-Control-Allow-Origin"
ok 'header_of Access-Control-Allow-Methods "$E2E_TMP/h1" | grep -q POST' "and it allows the route's method"
curl -s -o /dev/null -D "$E2E_TMP/h2" -X OPTIONS "$API/api/v1/auth/login/" \
	-H 'Origin: https://evil.example.net' -H 'Access-Control-Request-Method: POST'
ok '[ -z "$(header_of Access-Control-Allow-Origin "$E2E_TMP/h2")" ]' \
	"a preflight from another origin gets no Access-Control-Allow-Origin"
curl -s -o /dev/null -D "$E2E_TMP/h3" "$API/api/v1/health/" -H "Origin: $ORIGIN"
ok '[ "$(header_of Access-Control-Allow-Origin "$E2E_TMP/h3")" = "$ORIGIN" ]' \
	"a simple request from the allowed origin carries the header too"

# 1,000 bad requests, 16 at a time: four kinds in turn.
head -c 100000 /dev/zero | tr '\0' 'h' | sed 's/^/X-Huge: /' >"$E2E_TMP/huge-header"
cat >"$E2E_TMP/bad.sh" <<'BAD'
#!/usr/bin/env bash
# bad.sh PORT I — send the I-th malformed request; never fails.
port=$1 i=$2
url="http://127.0.0.1:$port"
case $((i % 4)) in
0) curl -s -o /dev/null --max-time 3 -X POST "$url/api/v1/auth/login/" \
	-H 'Content-Type: application/json' --data-binary "{\"email\":\"x$i\",\"password\":[{" ;;
1) curl -s -o /dev/null --max-time 3 -H "@$E2E_TMP/huge-header" "$url/api/v1/health/" ;;
2) { exec 3<>"/dev/tcp/127.0.0.1/$port" &&
	printf 'G\001T /%s\377 HTTP/9.9 junk\r\n\r\n' "$i" >&3 &&
	timeout 0.5 cat <&3 >/dev/null; } 2>/dev/null ;;
3) { exec 3<>"/dev/tcp/127.0.0.1/$port" &&
	head -c 700 /dev/urandom >&3 &&
	timeout 0.3 cat <&3 >/dev/null; } 2>/dev/null ;;
esac
exit 0
BAD
chmod +x "$E2E_TMP/bad.sh"
t0=$(now_ms)
seq 1 1000 | env E2E_TMP="$E2E_TMP" timeout 180 xargs -P 16 -n 1 "$E2E_TMP/bad.sh" "$PORT"
flood_rc=$?
ok '[ "$flood_rc" = 0 ]' "1,000 malformed requests sent, 16 at a time ($(($(now_ms) - t0)) ms)"
ok 'kill -0 "$API_PID"' "the server is still running"
req GET /api/v1/health/
ok '[ "$STATUS" = 200 ]' "and health is 200"
api_stop

# ================================================ SIGTERM during a request
api_start CAAS_API_SHUTDOWN_TIMEOUT_SEC=10
user_token "drain$stamp@example.com" >/dev/null
# A valid login of 16,000 bytes (the route takes 16 KiB): padded JSON.
{
	printf '{"email":"drain%s@example.com","password":"correct horse battery staple"}' "$stamp"
	head -c 15900 /dev/zero | tr '\0' ' '
} >"$E2E_TMP/slow-body"
curl -sS -o "$E2E_TMP/slow-out" -w '%{http_code}' --max-time 30 --limit-rate 4000 -H 'Expect:' \
	-H 'Content-Type: application/json' --data-binary "@$E2E_TMP/slow-body" \
	"$API/api/v1/auth/login/" >"$E2E_TMP/slow-status" 2>"$E2E_TMP/slow-err" &
CURL_PID=$!
inflight=0
for i in $(seq 1 50); do	# until the server counts the upload as in flight (5 s at most)
	inflight=$(curl -s "$API/metrics" | awk '$1=="caas_http_requests_in_flight"{print $2}')
	[ "${inflight:-0}" -ge 2 ] && break	# the upload and this /metrics request
	sleep 0.1
done
ok '[ "${inflight:-0}" -ge 2 ]' "the slow upload is in flight"
t0=$(now_ms)
kill -TERM "$API_PID"
wait "$CURL_PID"
slow=$(cat "$E2E_TMP/slow-status")
STATUS=$slow BODY=$(cat "$E2E_TMP/slow-out")
[ -s "$E2E_TMP/slow-err" ] && sed "s/^/# curl: /" "$E2E_TMP/slow-err"
ok '[ "$slow" = 200 ] && [ -n "$(jq_body .access)" ]' \
	"the request in flight at SIGTERM completes (HTTP $slow after $(($(now_ms) - t0)) ms), no reset"
exited=no
for i in $(seq 1 120); do	# shutdown_timeout_sec + 2 s
	kill -0 "$API_PID" 2>/dev/null || { exited=yes; break; }
	sleep 0.1
done
wait "$API_PID"
rc=$?
API_PID=
ok '[ "$exited" = yes ] && [ "$rc" = 0 ]' "the server exits 0 within the shutdown timeout (exit $rc, $(($(now_ms) - t0)) ms)"
