--
-- 020_catalogue.sql — shared catalogues: platforms and plans.
--
-- These are not tenant data: every organisation reads the same rows.  On
-- Citus they become reference tables.  No foreign key ever points from them
-- to a tenant table.
--

CREATE TABLE caas.platforms (
  platform          text PRIMARY KEY
                    CHECK (platform ~ '^[a-z][a-z0-9_]{0,31}$'),
  display_name      text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
  max_text_length   integer NOT NULL CHECK (max_text_length > 0),
  weighted_length   boolean NOT NULL DEFAULT false,
  requires_media    boolean NOT NULL DEFAULT false,
  is_sandbox        boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE caas.platforms IS
  'Social platforms the dispatcher has an adapter for, with the text rules the scheduler enforces. One row per adapter; a new platform ships as an upgrade script adding its row.';
COMMENT ON COLUMN caas.platforms.platform IS 'Platform key, matching the dispatcher adapter''s name (x, linkedin, instagram, sandbox).';
COMMENT ON COLUMN caas.platforms.display_name IS 'Name shown to people.';
COMMENT ON COLUMN caas.platforms.max_text_length IS 'Longest text the platform accepts, in its own unit (weighted characters for X, characters otherwise).';
COMMENT ON COLUMN caas.platforms.weighted_length IS 'True when length is counted the twitter-text way (URL = 23, CJK and emoji = 2).';
COMMENT ON COLUMN caas.platforms.requires_media IS 'True when a post needs at least one image (Instagram).';
COMMENT ON COLUMN caas.platforms.is_sandbox IS 'True for the local sandbox platform that only records posts; for demos, never a real network.';

INSERT INTO caas.platforms (platform, display_name, max_text_length, weighted_length, requires_media, is_sandbox) VALUES
  ('x',         'X',                    280,  true,  false, false),
  ('linkedin',  'LinkedIn',             3000, false, false, false),
  ('instagram', 'Instagram',            2200, false, true,  false),
  ('sandbox',   'Sandbox (local only)', 3000, false, false, true);

CREATE TABLE caas.plans (
  plan_id                    text PRIMARY KEY CHECK (plan_id ~ '^[a-z][a-z0-9_]{1,31}$'),
  name                       text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  price_cents                integer NOT NULL CHECK (price_cents >= 0),
  currency                   text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
  billing_interval           text NOT NULL DEFAULT 'month' CHECK (billing_interval IN ('month', 'year')),
  stripe_price_id            text UNIQUE CHECK (stripe_price_id ~ '^price_[A-Za-z0-9]+$'),
  max_members                integer CHECK (max_members >= 1),
  max_workspaces             integer CHECK (max_workspaces >= 1),
  max_social_accounts        integer CHECK (max_social_accounts >= 0),
  ai_generations_per_month   integer CHECK (ai_generations_per_month >= 0),
  scheduled_posts_per_month  integer CHECK (scheduled_posts_per_month >= 0),
  x_posts_per_month          integer CHECK (x_posts_per_month >= 0),
  sort_order                 integer NOT NULL DEFAULT 0,
  is_public                  boolean NOT NULL DEFAULT true,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT plans_free_has_no_stripe_price CHECK (price_cents > 0 OR stripe_price_id IS NULL)
);
COMMENT ON TABLE caas.plans IS
  'Plans an organisation can subscribe to, with their quotas held as data. A NULL quota means unlimited. Rows come from sql/fixtures/plans.sql; Stripe price ids from configuration.';
COMMENT ON COLUMN caas.plans.plan_id IS 'Stable key (free, pro, team) used by subscriptions and the API.';
COMMENT ON COLUMN caas.plans.name IS 'Name shown to customers.';
COMMENT ON COLUMN caas.plans.price_cents IS 'Price per billing interval in the smallest currency unit (2900 = $29.00).';
COMMENT ON COLUMN caas.plans.currency IS 'ISO 4217 currency code, lower case as Stripe writes it.';
COMMENT ON COLUMN caas.plans.billing_interval IS 'Billing period of the price: month or year.';
COMMENT ON COLUMN caas.plans.stripe_price_id IS 'Stripe Price (price_...) used for Checkout; NULL for the free plan or until configured.';
COMMENT ON COLUMN caas.plans.max_members IS 'Most members (including the owner) an organisation may have; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.max_workspaces IS 'Most workspaces an organisation may have; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.max_social_accounts IS 'Most connected social accounts; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.ai_generations_per_month IS 'AI generations per billing period; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.scheduled_posts_per_month IS 'Posts that may be scheduled per billing period, all platforms; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.x_posts_per_month IS 'Posts to X per billing period, counted apart because each one costs money at X; NULL = unlimited.';
COMMENT ON COLUMN caas.plans.sort_order IS 'Order in which plans are listed, cheapest first.';
COMMENT ON COLUMN caas.plans.is_public IS 'False hides a plan from the plan list (grandfathered or custom plans).';

-- Plan rows are data an operator may edit (Stripe price ids): pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('caas.plans', '');
