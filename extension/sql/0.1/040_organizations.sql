--
-- 040_organizations.sql — tenants: organisations, their members,
-- invitations and workspaces.
--
-- Every tenant table carries org_id and includes it in its primary key, its
-- unique constraints and its foreign keys, so the schema distributes on
-- Citus by org_id without change.  Row level security is enabled on each one
-- as it is created; with no policy yet, only the owner of the tables sees
-- rows (deny by default).
--

CREATE TABLE caas.organizations (
  org_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug              text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$'),
  default_timezone  text NOT NULL DEFAULT 'UTC' CHECK (caas.timezone_is_valid(default_timezone)),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT organizations_slug_key UNIQUE (slug)
);
ALTER TABLE caas.organizations ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.organizations IS
  'Tenants. Everything a customer owns hangs off an organisation, and its org_id is the distribution key.';
COMMENT ON COLUMN caas.organizations.org_id IS 'Tenant identifier, present in every tenant table''s keys.';
COMMENT ON COLUMN caas.organizations.name IS 'Name shown to people.';
COMMENT ON COLUMN caas.organizations.slug IS 'URL-safe unique handle: lower-case letters, digits and inner hyphens, 3 to 63 characters.';
COMMENT ON COLUMN caas.organizations.default_timezone IS 'IANA zone new workspaces and schedules default to.';

CREATE TABLE caas.organization_members (
  org_id      uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES caas.users (user_id) ON DELETE CASCADE,
  role        caas.org_role NOT NULL,
  invited_by  uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
ALTER TABLE caas.organization_members ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.organization_members IS
  'Who belongs to which organisation, with which role. An organisation has exactly one owner.';
COMMENT ON COLUMN caas.organization_members.user_id IS 'The member: a user of caas.users.';
COMMENT ON COLUMN caas.organization_members.role IS 'owner, admin, member or viewer; see the permission matrix in the README.';
COMMENT ON COLUMN caas.organization_members.invited_by IS 'Member who invited this one; NULL for the founder or once that user is deleted.';
-- At most one owner per organisation; "at least one" is kept by the API functions.
CREATE UNIQUE INDEX organization_members_one_owner ON caas.organization_members (org_id) WHERE role = 'owner';
-- "Which organisations does this user belong to": the RLS helpers' access path.
CREATE INDEX organization_members_user_idx ON caas.organization_members (user_id, org_id);

CREATE TABLE caas.invitations (
  org_id         uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  invitation_id  uuid NOT NULL DEFAULT gen_random_uuid(),
  email          text NOT NULL CHECK (email = lower(email) AND length(email) <= 254
                                      AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  role           caas.org_role NOT NULL CHECK (role <> 'owner'),
  token_hash     bytea NOT NULL CHECK (octet_length(token_hash) = 32),
  status         caas.invitation_status NOT NULL DEFAULT 'pending',
  invited_by     uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
                 DEFAULT now() + make_interval(hours => current_setting('caas.invitation_ttl_hours')::integer),
  accepted_by    uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  responded_at   timestamptz,
  PRIMARY KEY (org_id, invitation_id),
  CONSTRAINT invitations_token_hash_key UNIQUE (org_id, token_hash),
  CONSTRAINT invitations_expiry_after_creation CHECK (expires_at > created_at),
  CONSTRAINT invitations_response_matches_status CHECK ((status IN ('pending', 'expired')) = (responded_at IS NULL)),
  -- Not "accepted exactly when accepted_by is set": accepted_by is SET NULL
  -- when the accepting user is deleted, and the invitation stays accepted.
  CONSTRAINT invitations_acceptor_matches_status CHECK (accepted_by IS NULL OR status = 'accepted')
);
ALTER TABLE caas.invitations ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.invitations IS
  'Invitations to join an organisation with a role (never owner). The token sent by e-mail carries the org and invitation ids plus a secret; only the secret''s SHA-256 is stored.';
COMMENT ON COLUMN caas.invitations.email IS 'Address invited, lower case.';
COMMENT ON COLUMN caas.invitations.role IS 'Role granted on acceptance; owner cannot be granted by invitation.';
COMMENT ON COLUMN caas.invitations.token_hash IS 'SHA-256 of the invitation secret.';
COMMENT ON COLUMN caas.invitations.status IS 'pending, accepted, revoked or expired.';
COMMENT ON COLUMN caas.invitations.expires_at IS 'After this instant the invitation cannot be accepted; defaults to now + caas.invitation_ttl_hours.';
COMMENT ON COLUMN caas.invitations.invited_by IS 'Member who sent the invitation; NULL once that user is deleted.';
COMMENT ON COLUMN caas.invitations.accepted_by IS 'User who accepted; set only when status is accepted, and NULL again once that user is deleted.';
COMMENT ON COLUMN caas.invitations.responded_at IS 'When the invitation was accepted or revoked.';
-- One live invitation per address per organisation.
CREATE UNIQUE INDEX invitations_one_pending_per_email ON caas.invitations (org_id, email) WHERE status = 'pending';
-- The housekeeping job's access path.
CREATE INDEX invitations_pending_expiry_idx ON caas.invitations (expires_at) WHERE status = 'pending';
CREATE INDEX invitations_org_created_idx ON caas.invitations (org_id, created_at DESC, invitation_id DESC);

CREATE TABLE caas.workspaces (
  org_id        uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  workspace_id  uuid NOT NULL DEFAULT gen_random_uuid(),
  name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug          text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  description   text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  timezone      text NOT NULL DEFAULT 'UTC' CHECK (caas.timezone_is_valid(timezone)),
  brand_voice   text NOT NULL DEFAULT '' CHECK (length(brand_voice) <= 4000),
  created_by    uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, workspace_id),
  CONSTRAINT workspaces_slug_key UNIQUE (org_id, slug)
);
ALTER TABLE caas.workspaces ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.workspaces IS 'Groups of content inside an organisation (a brand, a client, a campaign).';
COMMENT ON COLUMN caas.workspaces.name IS 'Name shown to people.';
COMMENT ON COLUMN caas.workspaces.description IS 'Free text describing the workspace, for its members.';
COMMENT ON COLUMN caas.workspaces.slug IS 'Handle unique within the organisation.';
COMMENT ON COLUMN caas.workspaces.timezone IS 'IANA zone schedules in this workspace default to.';
COMMENT ON COLUMN caas.workspaces.brand_voice IS 'Guidance admins write for AI drafts in this workspace; passed to the model as quoted data.';
COMMENT ON COLUMN caas.workspaces.created_by IS 'User who created the workspace; NULL once that user is deleted.';
CREATE INDEX workspaces_org_created_idx ON caas.workspaces (org_id, created_at DESC, workspace_id DESC);
