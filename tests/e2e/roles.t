#!/usr/bin/env bash
# tests/e2e/roles.t — every role of an organisation through HTTP: members
# added by e-mail and by an accepted invitation, then one representative
# request per row of the permission matrix (README, caas.permission_matrix())
# for owner, admin, member, viewer and an outsider; the owner's guarantees
# (cannot be demoted, cannot leave) and the transfer of ownership.
source "$(dirname "$0")/lib.sh"

api_start

echo "1..87"

stamp=$(date +%s%N)
ROLES=(owner admin member viewer)
declare -A TOK UID_OF
for r in "${ROLES[@]}" outsider; do
	TOK[$r]=$(user_token "$r$stamp@example.com")
done
ok '[ -n "${TOK[owner]}" ] && [ -n "${TOK[admin]}" ] && [ -n "${TOK[member]}" ] && [ -n "${TOK[viewer]}" ] && [ -n "${TOK[outsider]}" ]' \
	"five users register and log in"
for r in "${ROLES[@]}" outsider; do
	req GET /api/v1/users/me/ "" "${TOK[$r]}"
	UID_OF[$r]=$(jq_body .user_id)
done

# -------------------------------------------------- the organisation, members
req POST /api/v1/organizations/ "{\"name\":\"Roles\",\"slug\":\"roles-$stamp\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .role)" = owner ]' "the owner creates the organisation"
ORG=$(jq_body .org_id)
O="/api/v1/organizations/$ORG"
sql_su "INSERT INTO caas.subscriptions (org_id, plan_id) VALUES ('$ORG','team')" >/dev/null
req GET "$O/" "" "${TOK[owner]}"
ok '[ "$(jq_body .plan)" = team ]' "the organisation is on the team plan (quotas stay out of the way)"

req POST "$O/members/" "{\"email\":\"admin$stamp@example.com\",\"role\":\"admin\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .role)" = admin ] && [ "$(jq_body .user_id)" = "${UID_OF[admin]}" ]' \
	"the owner adds an existing user by e-mail as admin"
req POST "$O/members/" "{\"email\":\"member$stamp@example.com\",\"role\":\"member\"}" "${TOK[admin]}"
ok '[ "$STATUS" = 201 ] && [ "$(jq_body .role)" = member ]' "the admin adds another as member"
req POST "$O/members/" "{\"email\":\"member$stamp@example.com\",\"role\":\"viewer\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 409 ]' "adding a member twice is a 409"
req POST "$O/members/" "{\"email\":\"nobody$stamp@example.com\",\"role\":\"viewer\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 404 ]' "adding an e-mail nobody registered is a 404"
req POST "$O/members/" "{\"email\":\"outsider$stamp@example.com\",\"role\":\"owner\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA006 ]' "the owner role cannot be granted (409 CA006)"

req POST "$O/invitations/" "{\"email\":\"viewer$stamp@example.com\",\"role\":\"viewer\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 201 ] && [ -n "$(jq_body .token)" ]' "the owner invites the viewer; the token comes back once"
INV=$(jq_body .token)
req GET "$O/invitations/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 200 ] && ! printf "%s" "$BODY" | grep -q "${INV##*.}"' "the invitation list never shows the token"
req POST /api/v1/invitations/accept/ "{\"token\":\"$INV\"}" "${TOK[outsider]}"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "another user cannot accept it (403)"
req POST /api/v1/invitations/accept/ "{\"token\":\"${INV%?}x\"}" "${TOK[viewer]}"
ok '[ "$STATUS" = 404 ]' "a tampered token is a 404"
req POST /api/v1/invitations/accept/ "{\"token\":\"$INV\"}" "${TOK[viewer]}"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .role)" = viewer ] && [ "$(jq_body .org_id)" = "$ORG" ]' \
	"the invitee accepts with the token and is a viewer"
req POST /api/v1/invitations/accept/ "{\"token\":\"$INV\"}" "${TOK[viewer]}"
ok '[ "$STATUS" = 404 ]' "a spent invitation is a 404"

req GET "$O/members/" "" "${TOK[viewer]}"
roles=$(jq_body '[.items[] | .role] | sort | join(",")')
ok '[ "$STATUS" = 200 ] && [ "$roles" = "admin,member,owner,viewer" ]' "the members list shows one of each role"

# --------------------------------------------- the matrix matches the README
# The actions checked below and who may do each, as the README documents.
declare -A ALLOWED=(
	[content.read]="owner admin member viewer"
	[content.write]="owner admin member"
	[content.delete]="owner admin"
	[post.schedule]="owner admin member"
	[workspace.manage]="owner admin"
	[member.manage]="owner admin"
	[audit.read]="owner admin"
	[billing.view]="owner admin"
	[org.update]="owner admin"
	[org.delete]="owner"
	[org.transfer]="owner"
)
mismatch=0
while IFS='|' read -r action _ o a m v; do
	[ -n "${ALLOWED[$action]+x}" ] || continue
	got=""
	[ "$o" = t ] && got+="owner "
	[ "$a" = t ] && got+="admin "
	[ "$m" = t ] && got+="member "
	[ "$v" = t ] && got+="viewer "
	[ "${got% }" = "${ALLOWED[$action]}" ] || { echo "# $action: database says '${got% }'"; mismatch=$((mismatch + 1)); }
done < <(sql_su "SELECT * FROM caas.permission_matrix()")
ok '[ "$mismatch" = 0 ]' "caas.permission_matrix() agrees with the documented matrix"

# expect ACTION ROLE OK_STATUS — the status ROLE must get for ACTION.
expect() {
	case $2 in
	outsider) echo 404 ;;
	*) case " ${ALLOWED[$1]} " in *" $2 "*) echo "$3" ;; *) echo 403 ;; esac ;;
	esac
}

# try ACTION ROLE OK_STATUS METHOD PATH [BODY] — one request as ROLE and
# one TAP line: allowed → OK_STATUS, denied → 403 with SQLSTATE 42501,
# outsider → 404.
try() {
	local action=$1 r=$2 want
	want=$(expect "$1" "$2" "$3")
	req "$4" "$5" "${6:-}" "${TOK[$r]}"
	case $want in
	403) ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "$action: $r is refused (403, 42501)" ;;
	404) ok '[ "$STATUS" = 404 ]' "$action: an outsider gets 404" ;;
	*) ok '[ "$STATUS" = "$want" ]' "$action: $r may ($want)" ;;
	esac
}

req POST "$O/workspaces/" '{"name":"Main","slug":"main"}' "${TOK[owner]}"
WS=$(jq_body .workspace_id)
ACCOUNT=$(sql_su "INSERT INTO caas.social_accounts (org_id, platform, external_id, handle, access_token_enc, token_key_id, status)
	VALUES ('$ORG', 'x', 'ext-$stamp', 'roles', decode(repeat('ab', 40), 'hex'), 'k1', 'connected') RETURNING account_id")
new_content() {
	req POST "$O/content/" "{\"workspace_id\":\"$WS\",\"title\":\"$1\",\"body\":\"Hello from $1\",\"platform\":\"x\"}" "${TOK[owner]}"
	jq_body .content_id
}
declare -A DEL SCH
for r in "${ROLES[@]}"; do
	DEL[$r]=$(new_content "delete-$r")
	SCH[$r]=$(new_content "schedule-$r")
done
ok '[ -n "$WS" ] && [ -n "$ACCOUNT" ] && [ -n "${DEL[viewer]}" ] && [ -n "${SCH[viewer]}" ]' \
	"a workspace, an X account and content to act on"
KEEP=${DEL[viewer]}	# the item that denied roles try to delete
when=$(date -u -d '+2 days' +%Y-%m-%dT10:00:00Z)

for r in "${ROLES[@]}" outsider; do
	try content.read "$r" 200 GET "$O/content/"
	try content.write "$r" 201 POST "$O/content/" "{\"workspace_id\":\"$WS\",\"title\":\"by $r\"}"
	target=$KEEP
	case " ${ALLOWED[content.delete]} " in *" $r "*) target=${DEL[$r]} ;; esac
	try content.delete "$r" 204 DELETE "$O/content/$target/"
	try post.schedule "$r" 201 POST "$O/posts/" \
		"{\"content_id\":\"${SCH[${r/outsider/viewer}]}\",\"account_id\":\"$ACCOUNT\",\"scheduled_at\":\"$when\"}"
	try workspace.manage "$r" 201 POST "$O/workspaces/" "{\"name\":\"WS $r\",\"slug\":\"ws-$r\"}"
	try member.manage "$r" 201 POST "$O/invitations/" "{\"email\":\"invitee-$r$stamp@example.com\",\"role\":\"viewer\"}"
	try audit.read "$r" 200 GET "$O/audit/"
	try billing.view "$r" 200 GET "$O/subscription/"
	try org.update "$r" 200 PATCH "$O/" "{\"name\":\"Renamed by $r\"}"
done
req GET "$O/content/$KEEP/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 200 ]' "the content the refused roles tried to delete is still there"
req GET "$O/posts/?status=scheduled" "" "${TOK[viewer]}"
ok '[ "$(jq_body ".items | length")" = 3 ]' "exactly the three allowed roles scheduled a post"
req GET "$O/subscription/" "" "${TOK[admin]}"
ok '[ "$(jq_body .plan.plan_id)" = team ]' "the subscription shows the team plan"

# --------------------------------------------------- the owner's guarantees
req PATCH "$O/members/${UID_OF[owner]}/" '{"role":"member"}' "${TOK[admin]}"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA006 ]' "the admin cannot demote the owner (409 CA006)"
req DELETE "$O/members/${UID_OF[owner]}/" "" "${TOK[admin]}"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA006 ]' "the admin cannot remove the owner (409 CA006)"
req DELETE "$O/members/${UID_OF[owner]}/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 409 ] && [ "$(jq_body .code)" = CA006 ]' "the owner cannot leave (409 CA006)"
req PATCH "$O/members/${UID_OF[viewer]}/" '{"role":"admin"}' "${TOK[member]}"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "a member cannot promote anyone (403)"
req PATCH "$O/members/${UID_OF[member]}/" '{"role":"viewer"}' "${TOK[outsider]}"
ok '[ "$STATUS" = 404 ]' "an outsider cannot change roles (404)"

# ------------------------------------------------ delete and transfer rows
for r in admin member viewer outsider; do
	try org.transfer "$r" 200 POST "$O/transfer/" "{\"user_id\":\"${UID_OF[$r]}\"}"
done
for r in admin member viewer outsider; do
	try org.delete "$r" 204 DELETE "$O/"
done
req POST "$O/transfer/" "{\"user_id\":\"${UID_OF[outsider]}\"}" "${TOK[owner]}"
ok '[ "$STATUS" = 404 ]' "ownership cannot go to someone who is not a member (404)"
try org.transfer owner 200 POST "$O/transfer/" "{\"user_id\":\"${UID_OF[admin]}\"}"
req GET "$O/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 200 ] && [ "$(jq_body .role)" = admin ]' "after the transfer the old owner is an admin"
req GET "$O/" "" "${TOK[admin]}"
ok '[ "$(jq_body .role)" = owner ]' "and the new owner is the owner"
req GET "$O/members/" "" "${TOK[viewer]}"
owners=$(jq_body '[.items[] | select(.role == "owner")] | length')
ok '[ "$owners" = 1 ]' "still exactly one owner"
req DELETE "$O/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 403 ] && [ "$(jq_body .code)" = 42501 ]' "the old owner can no longer delete the organisation"
req DELETE "$O/members/${UID_OF[owner]}/" "" "${TOK[owner]}"
ok '[ "$STATUS" = 204 ]' "and, being an admin now, can leave"
req DELETE "$O/" "" "${TOK[admin]}"
ok '[ "$STATUS" = 204 ]' "org.delete: the new owner may (204)"
req GET "$O/" "" "${TOK[admin]}"
ok '[ "$STATUS" = 404 ]' "the deleted organisation is gone"
