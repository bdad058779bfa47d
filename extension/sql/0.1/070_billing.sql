--
-- 070_billing.sql — subscriptions, usage per billing period and the Stripe
-- event log.
--

CREATE TABLE caas.subscriptions (
  org_id                  uuid PRIMARY KEY REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  plan_id                 text NOT NULL REFERENCES caas.plans (plan_id),
  status                  caas.subscription_status NOT NULL DEFAULT 'active',
  stripe_customer_id      text CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  stripe_subscription_id  text CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
  current_period_start    timestamptz NOT NULL DEFAULT date_trunc('month', now()),
  current_period_end      timestamptz NOT NULL DEFAULT date_trunc('month', now()) + interval '1 month',
  cancel_at_period_end    boolean NOT NULL DEFAULT false,
  trial_end               timestamptz,
  past_due_since          timestamptz,
  stripe_updated_at       timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT subscriptions_period_order CHECK (current_period_end > current_period_start),
  CONSTRAINT subscriptions_stripe_sub_has_customer CHECK (stripe_subscription_id IS NULL OR stripe_customer_id IS NOT NULL),
  CONSTRAINT subscriptions_past_due_since CHECK ((status = 'past_due') = (past_due_since IS NOT NULL))
);
ALTER TABLE caas.subscriptions ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.subscriptions IS
  'Each organisation''s plan and its Stripe subscription state. An organisation without a row is on the free plan.';
COMMENT ON COLUMN caas.subscriptions.plan_id IS 'Plan whose quotas apply.';
COMMENT ON COLUMN caas.subscriptions.status IS 'Stripe subscription status; drives access (past_due keeps it for a grace period, canceled falls back to free).';
COMMENT ON COLUMN caas.subscriptions.stripe_customer_id IS 'Stripe Customer (cus_...).';
COMMENT ON COLUMN caas.subscriptions.stripe_subscription_id IS 'Stripe Subscription (sub_...).';
COMMENT ON COLUMN caas.subscriptions.current_period_start IS 'Start of the billing period usage is counted in.';
COMMENT ON COLUMN caas.subscriptions.current_period_end IS 'End (exclusive) of the current billing period.';
COMMENT ON COLUMN caas.subscriptions.cancel_at_period_end IS 'True when the customer cancelled and the plan ends with the period.';
COMMENT ON COLUMN caas.subscriptions.trial_end IS 'End of the trial, if any.';
COMMENT ON COLUMN caas.subscriptions.past_due_since IS 'When the subscription became past_due; the grace period counts from here.';
COMMENT ON COLUMN caas.subscriptions.stripe_updated_at IS 'Timestamp of the newest Stripe event applied; older events never overwrite newer state.';
-- Webhooks find the organisation by Stripe ids.  Not unique: on Citus a
-- unique constraint must include org_id, which would make it meaningless.
CREATE INDEX subscriptions_stripe_customer_idx ON caas.subscriptions (stripe_customer_id);
CREATE INDEX subscriptions_stripe_subscription_idx ON caas.subscriptions (stripe_subscription_id);

CREATE TABLE caas.usage (
  org_id                uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  period_start          timestamptz NOT NULL,
  period_end            timestamptz NOT NULL,
  ai_generations        integer NOT NULL DEFAULT 0 CHECK (ai_generations >= 0),
  ai_prompt_tokens      bigint NOT NULL DEFAULT 0 CHECK (ai_prompt_tokens >= 0),
  ai_completion_tokens  bigint NOT NULL DEFAULT 0 CHECK (ai_completion_tokens >= 0),
  scheduled_posts       integer NOT NULL DEFAULT 0 CHECK (scheduled_posts >= 0),
  x_posts               integer NOT NULL DEFAULT 0 CHECK (x_posts >= 0),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, period_start),
  CONSTRAINT usage_period_order CHECK (period_end > period_start)
);
ALTER TABLE caas.usage ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.usage IS
  'Metered use per organisation per billing period; the counters quotas are checked against. Updated in the same transaction as the use.';
COMMENT ON COLUMN caas.usage.period_start IS 'Start of the billing period (inclusive).';
COMMENT ON COLUMN caas.usage.period_end IS 'End of the billing period (exclusive).';
COMMENT ON COLUMN caas.usage.ai_generations IS 'Successful AI generations in the period.';
COMMENT ON COLUMN caas.usage.ai_prompt_tokens IS 'Input tokens the AI providers billed in the period.';
COMMENT ON COLUMN caas.usage.ai_completion_tokens IS 'Output tokens the AI providers billed in the period.';
COMMENT ON COLUMN caas.usage.scheduled_posts IS 'Posts scheduled in the period, all platforms.';
COMMENT ON COLUMN caas.usage.x_posts IS 'Posts scheduled to X in the period.';

CREATE TABLE caas.stripe_events (
  event_id           text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9]+$'),
  event_type         text NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  org_id             uuid,
  livemode           boolean NOT NULL,
  stripe_created_at  timestamptz NOT NULL,
  received_at        timestamptz NOT NULL DEFAULT now(),
  outcome            text NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored', 'unknown_type')),
  payload            jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object')
);
COMMENT ON TABLE caas.stripe_events IS
  'Every Stripe webhook event received, by its unique id, with what was done with it. Inserted in the same transaction as the event''s effect, so a replay or a concurrent duplicate is applied once. Not tenant data: the organisation is known only after reading the event.';
COMMENT ON COLUMN caas.stripe_events.event_id IS 'Stripe event id (evt_...); the deduplication key.';
COMMENT ON COLUMN caas.stripe_events.event_type IS 'Stripe event type, e.g. customer.subscription.updated.';
COMMENT ON COLUMN caas.stripe_events.org_id IS 'Organisation the event concerned, when it could be determined.';
COMMENT ON COLUMN caas.stripe_events.livemode IS 'False for Stripe test mode events.';
COMMENT ON COLUMN caas.stripe_events.stripe_created_at IS 'When Stripe created the event.';
COMMENT ON COLUMN caas.stripe_events.received_at IS 'When the webhook delivered it.';
COMMENT ON COLUMN caas.stripe_events.outcome IS 'applied, stale (older than the state held), ignored, or unknown_type (logged, not applied).';
COMMENT ON COLUMN caas.stripe_events.payload IS 'The event object as received, after its signature was verified.';
CREATE INDEX stripe_events_received_idx ON caas.stripe_events (received_at);

CREATE TABLE caas.audit_log (
  org_id       uuid NOT NULL REFERENCES caas.organizations (org_id) ON DELETE CASCADE,
  audit_id     bigint GENERATED ALWAYS AS IDENTITY,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  actor_id     uuid REFERENCES caas.users (user_id) ON DELETE SET NULL,
  action       text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
  target_type  text CHECK (target_type ~ '^[a-z_]+$'),
  target_id    text CHECK (length(target_id) <= 255),
  details      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  PRIMARY KEY (org_id, audit_id)
);
ALTER TABLE caas.audit_log ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE caas.audit_log IS
  'Privileged actions in an organisation (membership and role changes, ownership transfer, billing changes, account connections, deletions). Append-only.';
COMMENT ON COLUMN caas.audit_log.audit_id IS 'Increasing id; orders entries that share an instant.';
COMMENT ON COLUMN caas.audit_log.occurred_at IS 'When the action happened.';
COMMENT ON COLUMN caas.audit_log.actor_id IS 'User who acted; NULL for the system (Stripe webhooks, housekeeping).';
COMMENT ON COLUMN caas.audit_log.action IS 'What happened, as resource.verb: member.role_changed, ownership.transferred, account.connected.';
COMMENT ON COLUMN caas.audit_log.target_type IS 'Kind of object acted on: member, invitation, account, workspace, subscription.';
COMMENT ON COLUMN caas.audit_log.target_id IS 'Id of the object acted on.';
COMMENT ON COLUMN caas.audit_log.details IS 'Before/after values and context; never secrets.';
CREATE INDEX audit_log_org_occurred_idx ON caas.audit_log (org_id, occurred_at DESC, audit_id DESC);
