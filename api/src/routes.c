/*
 * routes.c — the route table: one row per endpoint.
 *
 * Most rows are served by handle_sql: the row names the SQL API function
 * and where each argument comes from (see struct api_route in api.h), so
 * adding such an endpoint is one row here plus its SQL function in the
 * extension.  Authorisation is decided in the database: a row only says
 * whether a caller must be authenticated.  Trailing slashes are optional.
 * Rows with a handler of their own may list the query parameters it reads
 * in args ("q:<name>"), for the OpenAPI document.
 */
#include <stddef.h>

#include "handlers.h"

#define KB	1024
#define JSON_SMALL	(16 * KB)
#define JSON_CONTENT	(256 * KB)
#define STRIPE_EVENT	(256 * KB)	/* Stripe's webhook payloads */

#define ORG	"/api/v1/organizations/{org}"

const struct api_route api_routes[] = {
	/* -------------------------------------------------------- service */
	{ "GET", "/api/v1/health/", handle_health, API_AUTH_NONE, 0,
	  "Service health: database reachable, dispatcher alive", "service", NULL, NULL, 0 },
	{ "GET", "/metrics", handle_metrics, API_AUTH_NONE, 0,
	  "Prometheus metrics", "service", NULL, NULL, 0 },
	{ "GET", "/api/schema/", handle_openapi, API_AUTH_NONE, 0,
	  "This OpenAPI document", "service", NULL, NULL, 0 },
	{ "GET", "/api/schema/swagger-ui/", handle_swagger_ui, API_AUTH_NONE, 0,
	  "Swagger UI", "service", NULL, NULL, 0 },
	{ "GET", "/api/schema/swagger-ui/{file}", handle_swagger_ui, API_AUTH_NONE, 0,
	  "Swagger UI's scripts and styles", "service", NULL, NULL, 0 },

	/* ----------------------------------------------------------- auth */
	{ "POST", "/api/v1/auth/register/", handle_auth_register, API_AUTH_NONE, JSON_SMALL,
	  "Create an account", "auth", NULL, NULL, 0 },
	{ "POST", "/api/v1/auth/login/", handle_auth_login, API_AUTH_NONE, JSON_SMALL,
	  "Log in: access and refresh tokens", "auth", NULL, NULL, 0 },
	{ "POST", "/api/v1/auth/refresh/", handle_auth_refresh, API_AUTH_NONE, JSON_SMALL,
	  "Rotate a refresh token", "auth", NULL, NULL, 0 },
	{ "POST", "/api/v1/auth/logout/", handle_auth_logout, API_AUTH_NONE, JSON_SMALL,
	  "Revoke a refresh token and its family", "auth", NULL, NULL, 0 },
	{ "POST", "/api/v1/auth/password/", handle_auth_password, API_AUTH_USER, JSON_SMALL,
	  "Change the password (revokes every refresh token)", "auth", NULL, NULL, 0 },
	{ "GET", "/api/v1/users/me/", handle_sql, API_AUTH_USER, 0,
	  "The caller, their profile and organisations", "users",
	  "SELECT caas.user_me()", "", 200 },
	{ "PATCH", "/api/v1/users/me/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Change the caller's profile", "users",
	  "SELECT caas.user_update_me($1::jsonb)", "b", 200 },

	/* -------------------------------------------------- organisations */
	{ "GET", "/api/v1/organizations/", handle_sql, API_AUTH_USER, 0,
	  "The caller's organisations", "organizations",
	  "SELECT caas.org_list($1, $2::integer)", "q:cursor q:limit", 200 },
	{ "POST", "/api/v1/organizations/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Create an organisation (the caller owns it)", "organizations",
	  "SELECT caas.org_create($1, $2, coalesce($3, 'UTC'))", "b:name b:slug b:default_timezone", 201 },
	{ "GET", ORG "/", handle_sql, API_AUTH_USER, 0,
	  "An organisation", "organizations",
	  "SELECT caas.org_get($1::uuid)", "p0", 200 },
	{ "PATCH", ORG "/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Rename an organisation or change its zone", "organizations",
	  "SELECT caas.org_update($1::uuid, $2::jsonb)", "p0 b", 200 },
	{ "DELETE", ORG "/", handle_sql, API_AUTH_USER, 0,
	  "Delete an organisation (owner)", "organizations",
	  "SELECT caas.org_delete($1::uuid)", "p0", 204 },
	{ "POST", ORG "/transfer/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Transfer ownership to a member", "organizations",
	  "SELECT caas.org_transfer_ownership($1::uuid, $2::uuid)", "p0 b:user_id", 200 },
	{ "GET", ORG "/usage/", handle_sql, API_AUTH_USER, 0,
	  "Use in the billing period against the plan's limits", "organizations",
	  "SELECT caas.usage_get($1::uuid)", "p0", 200 },
	{ "GET", ORG "/audit/", handle_sql, API_AUTH_USER, 0,
	  "The audit log (owners and admins)", "organizations",
	  "SELECT caas.audit_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "GET", ORG "/subscription/", handle_sql, API_AUTH_USER, 0,
	  "The subscription and the plan in force", "billing",
	  "SELECT caas.subscription_get($1::uuid)", "p0", 200 },
	{ "GET", "/api/v1/plans/", handle_sql, API_AUTH_NONE, 0,
	  "Plans with prices and limits", "billing",
	  "SELECT caas.plan_list()", "", 200 },
	{ "GET", "/api/v1/subscriptions/plans/", handle_sql, API_AUTH_NONE, 0,
	  "Plans with their Stripe price ids and limits", "billing",
	  "SELECT caas.plan_list()", "", 200 },
	{ "POST", "/api/v1/subscriptions/checkout/", handle_billing_checkout, API_AUTH_USER, JSON_SMALL,
	  "Start a Stripe Checkout for a plan (owners): the URL to send the browser to", "billing",
	  NULL, NULL, 200 },
	{ "POST", "/api/v1/subscriptions/portal/", handle_billing_portal, API_AUTH_USER, JSON_SMALL,
	  "Open Stripe's customer portal (owners): the URL to send the browser to", "billing",
	  NULL, NULL, 200 },
	{ "POST", "/api/v1/subscriptions/webhook/", handle_billing_webhook, API_AUTH_NONE, STRIPE_EVENT,
	  "Stripe's webhook: a signed event (Stripe-Signature) applied to the subscription", "billing",
	  NULL, NULL, 200 },

	/* -------------------------------------------- members, invitations */
	{ "GET", ORG "/members/", handle_sql, API_AUTH_USER, 0,
	  "Members", "members",
	  "SELECT caas.member_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "POST", ORG "/members/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Add an existing user by e-mail", "members",
	  "SELECT caas.member_add($1::uuid, $2, $3::caas.org_role)", "p0 b:email b:role", 201 },
	{ "PATCH", ORG "/members/{member}/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Change a member's role", "members",
	  "SELECT caas.member_set_role($1::uuid, $2::uuid, $3::caas.org_role)", "p0 p1 b:role", 200 },
	{ "DELETE", ORG "/members/{member}/", handle_sql, API_AUTH_USER, 0,
	  "Remove a member, or leave", "members",
	  "SELECT caas.member_remove($1::uuid, $2::uuid)", "p0 p1", 204 },
	{ "GET", ORG "/invitations/", handle_sql, API_AUTH_USER, 0,
	  "Invitations", "members",
	  "SELECT caas.invitation_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "POST", ORG "/invitations/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Invite an e-mail address (the token is returned once)", "members",
	  "SELECT caas.invitation_create($1::uuid, $2, $3::caas.org_role)", "p0 b:email b:role", 201 },
	{ "DELETE", ORG "/invitations/{invitation}/", handle_sql, API_AUTH_USER, 0,
	  "Revoke an invitation", "members",
	  "SELECT caas.invitation_revoke($1::uuid, $2::uuid)", "p0 p1", 204 },
	{ "POST", "/api/v1/invitations/accept/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Accept an invitation by its token", "members",
	  "SELECT caas.invitation_accept($1)", "b:token", 200 },

	/* ----------------------------------------------------- workspaces */
	{ "GET", ORG "/workspaces/", handle_sql, API_AUTH_USER, 0,
	  "Workspaces", "workspaces",
	  "SELECT caas.workspace_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "POST", ORG "/workspaces/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Create a workspace", "workspaces",
	  "SELECT caas.workspace_create($1::uuid, $2, $3, coalesce($4, ''), $5)",
	  "p0 b:name b:slug b:description b:timezone", 201 },
	{ "GET", ORG "/workspaces/{workspace}/", handle_sql, API_AUTH_USER, 0,
	  "A workspace", "workspaces",
	  "SELECT caas.workspace_get($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "PATCH", ORG "/workspaces/{workspace}/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Change a workspace or its brand voice", "workspaces",
	  "SELECT caas.workspace_update($1::uuid, $2::uuid, $3::jsonb)", "p0 p1 b", 200 },
	{ "DELETE", ORG "/workspaces/{workspace}/", handle_sql, API_AUTH_USER, 0,
	  "Delete a workspace and its content", "workspaces",
	  "SELECT caas.workspace_delete($1::uuid, $2::uuid)", "p0 p1", 204 },

	/* -------------------------------------------------------- content */
	{ "GET", ORG "/content/", handle_sql, API_AUTH_USER, 0,
	  "Content, newest first (filters: workspace, status, platform)", "content",
	  "SELECT caas.content_list($1::uuid, $2::uuid, $3::caas.content_status, $4, $5, $6::integer)",
	  "p0 q:workspace q:status q:platform q:cursor q:limit", 200 },
	{ "POST", ORG "/content/", handle_sql, API_AUTH_USER, JSON_CONTENT,
	  "Create a content item (its text is version 1)", "content",
	  "SELECT caas.content_create($1::uuid, $2::uuid, coalesce($3, ''), coalesce($4, ''), $5,"
	  " coalesce(ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), '{}'))",
	  "p0 b:workspace_id b:title b:body b:platform j:media_urls", 201 },
	{ "GET", ORG "/content/{content}/", handle_sql, API_AUTH_USER, 0,
	  "A content item", "content",
	  "SELECT caas.content_get($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "PATCH", ORG "/content/{content}/", handle_sql, API_AUTH_USER, JSON_CONTENT,
	  "Change a content item (a new text is a new version)", "content",
	  "SELECT caas.content_update($1::uuid, $2::uuid, $3::jsonb)", "p0 p1 b", 200 },
	{ "DELETE", ORG "/content/{content}/", handle_sql, API_AUTH_USER, 0,
	  "Delete a content item", "content",
	  "SELECT caas.content_delete($1::uuid, $2::uuid)", "p0 p1", 204 },
	{ "GET", ORG "/content/{content}/versions/", handle_sql, API_AUTH_USER, 0,
	  "Versions, newest first", "versions",
	  "SELECT caas.version_list($1::uuid, $2::uuid, $3, $4::integer)", "p0 p1 q:cursor q:limit", 200 },
	{ "GET", ORG "/content/{content}/versions/{version}/", handle_sql, API_AUTH_USER, 0,
	  "One version", "versions",
	  "SELECT caas.version_get($1::uuid, $2::uuid, $3::integer)", "p0 p1 p2", 200 },
	{ "GET", ORG "/content/{content}/diff/", handle_sql, API_AUTH_USER, 0,
	  "Word diff between two versions (?from=&to=)", "versions",
	  "SELECT caas.version_diff($1::uuid, $2::uuid, $3::integer, $4::integer)", "p0 p1 q:from q:to", 200 },
	{ "POST", ORG "/content/{content}/versions/{version}/restore/", handle_sql, API_AUTH_USER, 0,
	  "Restore a version (as a new version)", "versions",
	  "SELECT caas.version_restore($1::uuid, $2::uuid, $3::integer)", "p0 p1 p2", 201 },

	/* ------------------------------------------------- scheduled posts */
	{ "GET", ORG "/posts/", handle_sql, API_AUTH_USER, 0,
	  "Scheduled posts (filters: status, platform, account, from, to)", "posts",
	  "SELECT caas.post_list($1::uuid, $2::caas.post_state, $3, $4::uuid, $5::timestamptz, $6::timestamptz, $7, $8::integer)",
	  "p0 q:status q:platform q:account q:from q:to q:cursor q:limit", 200 },
	{ "POST", ORG "/posts/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Schedule a content item on a social account", "posts",
	  "SELECT caas.post_schedule($1::uuid, $2::uuid, $3::uuid, $4, $5)",
	  "p0 b:content_id b:account_id b:scheduled_at b:timezone", 201 },
	{ "GET", ORG "/posts/{post}/", handle_sql, API_AUTH_USER, 0,
	  "A scheduled post with its attempts", "posts",
	  "SELECT caas.post_get($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "PATCH", ORG "/posts/{post}/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Reschedule a post", "posts",
	  "SELECT caas.post_reschedule($1::uuid, $2::uuid, $3, $4)", "p0 p1 b:scheduled_at b:timezone", 200 },
	{ "POST", ORG "/posts/{post}/cancel/", handle_sql, API_AUTH_USER, 0,
	  "Cancel a post", "posts",
	  "SELECT caas.post_cancel($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "POST", ORG "/posts/{post}/resolve/", handle_sql, API_AUTH_USER, JSON_SMALL,
	  "Settle an unconfirmed post: published (with its remote id) or failed", "posts",
	  "SELECT caas.post_resolve($1::uuid, $2::uuid, $3, $4, $5)",
	  "p0 p1 b:resolution b:remote_id b:remote_url", 200 },

	/* ------------------------------------------------ social accounts */
	{ "GET", ORG "/accounts/", handle_sql, API_AUTH_USER, 0,
	  "Connected social accounts", "accounts",
	  "SELECT caas.account_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "GET", ORG "/accounts/{account}/", handle_sql, API_AUTH_USER, 0,
	  "A social account", "accounts",
	  "SELECT caas.account_get($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "DELETE", ORG "/accounts/{account}/", handle_sql, API_AUTH_USER, 0,
	  "Disconnect a social account", "accounts",
	  "SELECT caas.account_disconnect($1::uuid, $2::uuid)", "p0 p1", 200 },
	{ "POST", ORG "/accounts/", handle_accounts_paste, API_AUTH_USER, JSON_SMALL,
	  "Connect a social account with a pasted token (checked with the platform)", "accounts",
	  NULL, NULL, 201 },
	{ "POST", ORG "/accounts/oauth/{platform}/", handle_accounts_oauth_begin, API_AUTH_USER, 0,
	  "Start connecting a social account by OAuth: the authorisation URL", "accounts",
	  NULL, NULL, 201 },
	{ "GET", "/api/v1/oauth/{platform}/callback/", handle_accounts_oauth_callback, API_AUTH_NONE, 0,
	  "OAuth callback: the platform sends the browser here", "accounts",
	  NULL, "q:code q:state q:error", 201 },

	/* ---------------------------------------------------- AI generation */
	{ "POST", ORG "/content/generate/", handle_ai_generate, API_AUTH_USER, JSON_SMALL,
	  "Generate post variants with AI: queues a job (202; read it at url, "
	  "long-poll it with ?wait=, or follow events_url)", "ai", NULL, NULL, 202 },
	{ "POST", "/api/v1/content/generate/", handle_ai_generate, API_AUTH_USER, JSON_SMALL,
	  "Generate post variants with AI, the organisation named by org_id in the body "
	  "(otherwise as POST /api/v1/organizations/<org>/content/generate/)", "ai", NULL, NULL, 202 },
	{ "GET", ORG "/ai/jobs/", handle_sql, API_AUTH_USER, 0,
	  "AI generation jobs, newest first", "ai",
	  "SELECT caas.ai_job_list($1::uuid, $2, $3::integer)", "p0 q:cursor q:limit", 200 },
	{ "GET", ORG "/ai/jobs/{job}/", handle_ai_job_get, API_AUTH_USER, 0,
	  "An AI generation job; with ?wait=S (0..60) answers when it ends or after S seconds", "ai",
	  NULL, "q:wait", 200 },
	{ "GET", "/api/v1/ai/tones/", handle_sql, API_AUTH_USER, 0,
	  "The tones AI generation knows, with their guidance", "ai",
	  "SELECT caas.ai_tone_list()", "", 200 },

	/* --------------------------------------------------------- events */
	{ "GET", "/api/v1/events/", handle_events, API_AUTH_USER, 0,
	  "Server-Sent Events: status changes of an organisation's posts, accounts and AI jobs", "events",
	  NULL, "q:org_id", 200 },

	{ NULL, NULL, NULL, API_AUTH_NONE, 0, NULL, NULL, NULL, NULL, 0 }
};
