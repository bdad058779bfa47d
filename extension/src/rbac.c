/*
 * rbac.c — the permission matrix: which organisation role may do what.
 *
 * The matrix is data (rbac_actions[] below, one row per action); the
 * extension's SQL API and row level security policies ask it through
 * caas.role_can(role, action), and anyone can read it whole through
 * caas.permission_matrix().  Roles are ordered owner > admin > member >
 * viewer; the invariants that depend on the order (nobody grants a role above
 * their own, exactly one owner) are enforced in SQL.
 *
 * Adding an action: one row here, then use its name in SQL.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#define ROLE_OWNER	(1 << 0)
#define ROLE_ADMIN	(1 << 1)
#define ROLE_MEMBER	(1 << 2)
#define ROLE_VIEWER	(1 << 3)
#define ROLES_ALL	(ROLE_OWNER | ROLE_ADMIN | ROLE_MEMBER | ROLE_VIEWER)
#define ROLES_EDIT	(ROLE_OWNER | ROLE_ADMIN | ROLE_MEMBER)
#define ROLES_ADMIN	(ROLE_OWNER | ROLE_ADMIN)

struct rbac_action {
	const char *name;
	const char *description;
	int			roles;			/* ROLE_* bits allowed */
};

static const struct rbac_action rbac_actions[] = {
	{"content.read", "read content, versions, scheduled posts and usage", ROLES_ALL},
	{"content.write", "create and edit content, restore versions", ROLES_EDIT},
	{"content.delete", "delete content", ROLES_ADMIN},
	{"ai.generate", "generate drafts with AI", ROLES_EDIT},
	{"post.schedule", "schedule, reschedule and cancel posts", ROLES_EDIT},
	{"account.manage", "connect and disconnect social accounts", ROLES_ADMIN},
	{"member.manage", "invite, remove and change roles of members", ROLES_ADMIN},
	{"workspace.manage", "create, rename and delete workspaces, edit brand voice", ROLES_ADMIN},
	{"org.update", "rename the organisation and change its defaults", ROLES_ADMIN},
	{"audit.read", "read the audit log", ROLES_ADMIN},
	{"billing.view", "view the subscription and invoices", ROLES_ADMIN},
	{"billing.manage", "change the plan and payment details", ROLE_OWNER},
	{"org.delete", "delete the organisation", ROLE_OWNER},
	{"org.transfer", "transfer ownership to another member", ROLE_OWNER},
};

#define NACTIONS lengthof(rbac_actions)

static const char *const rbac_role_names[] = {"owner", "admin", "member", "viewer"};

PG_FUNCTION_INFO_V1(caas_role_can);
PG_FUNCTION_INFO_V1(caas_permission_matrix);

static int
role_bit(const char *role)
{
	int			i;

	for (i = 0; i < (int) lengthof(rbac_role_names); i++)
	{
		if (strcmp(role, rbac_role_names[i]) == 0)
			return 1 << i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown organisation role \"%s\"", role),
			 errhint("Roles are owner, admin, member and viewer.")));
	return 0;					/* not reached */
}

static const struct rbac_action *
action_lookup(const char *name)
{
	size_t		i;

	for (i = 0; i < NACTIONS; i++)
	{
		if (strcmp(name, rbac_actions[i].name) == 0)
			return &rbac_actions[i];
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown action \"%s\"", name),
			 errhint("SELECT action FROM caas.permission_matrix() lists them.")));
	return NULL;				/* not reached */
}

/*
 * caas.role_can(role text, action text) → boolean
 *
 * True when a member with role may perform action.  Raises 22023 for an
 * unknown role or action, so a typo in a policy fails loudly instead of
 * denying silently.
 */
Datum
caas_role_can(PG_FUNCTION_ARGS)
{
	char	   *role = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			bit = role_bit(role);
	const struct rbac_action *a = action_lookup(action);

	PG_RETURN_BOOL((a->roles & bit) != 0);
}

/*
 * caas.permission_matrix() → SETOF (action, description, owner, admin,
 * member, viewer)
 *
 * The whole matrix, one row per action in the order above.
 */
Datum
caas_permission_matrix(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < NACTIONS; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false};
		int			r;

		values[0] = CStringGetTextDatum(rbac_actions[i].name);
		values[1] = CStringGetTextDatum(rbac_actions[i].description);
		for (r = 0; r < 4; r++)
			values[2 + r] = BoolGetDatum((rbac_actions[i].roles & (1 << r)) != 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
