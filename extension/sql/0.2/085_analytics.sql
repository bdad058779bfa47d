--
-- 085_analytics.sql — read-only analytics for DBAs and analysts (role
-- caas_analyst), on the primary or a hot standby.
--
-- Each object is a plain view owned by the extension's owner: a view reads
-- its tables with its owner's privileges, so the analyst sees every
-- organisation (that is the job) without any policy or table grant of its
-- own.  The owner is a superuser, which bypasses the forced row level
-- security of the tenant tables; were it not, it would need BYPASSRLS, or
-- these views would return no rows.  The views are deliberately NOT
-- security_invoker.  They expose counts and timings only, never a secret
-- (token ciphertexts or hashes, password hashes), and caas_analyst still has
-- no privilege on the tables themselves.
--
-- Hot standby: nothing here writes, locks rows, takes a sequence value,
-- creates temporary objects or depends on request.jwt.claims.  Functions the
-- views call are checked against the querying role (PostgreSQL checks
-- EXECUTE on functions in a view as the view's user), hence the EXECUTE
-- grants on caas.org_plan and caas._billing_period at the end.
--
-- Times: days and months are UTC; durations are seconds (double precision).
--
-- caas.analytics_ai_jobs (AI generation jobs per organisation, month,
-- provider and state) follows these rules but is defined in 086_ai.sql,
-- after its table.
--

CREATE VIEW caas.analytics_posts_daily AS
SELECT p.org_id,
       a.platform,
       p.state,
       (p.due_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS posts
  FROM caas.scheduled_posts p
  JOIN caas.social_accounts a ON a.org_id = p.org_id AND a.account_id = p.account_id
 GROUP BY p.org_id, a.platform, p.state, (p.due_at AT TIME ZONE 'UTC')::date;
COMMENT ON VIEW caas.analytics_posts_daily IS
  'Analytics: scheduled posts per organisation, platform, state and day they were due (UTC date of due_at), with their count. Read-only; for caas_analyst, on the primary or a hot standby.';
COMMENT ON COLUMN caas.analytics_posts_daily.platform IS 'Platform of the social account the post goes to.';
COMMENT ON COLUMN caas.analytics_posts_daily.state IS 'Current state of the posts counted.';
COMMENT ON COLUMN caas.analytics_posts_daily.day IS 'UTC date of due_at.';
COMMENT ON COLUMN caas.analytics_posts_daily.posts IS 'Number of posts.';

CREATE VIEW caas.analytics_publish_lateness AS
SELECT l.org_id,
       l.platform,
       count(*) AS published_posts,
       avg(l.lateness_s) AS avg_lateness_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.lateness_s) AS p50_lateness_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY l.lateness_s) AS p95_lateness_s,
       max(l.lateness_s) AS max_lateness_s
  FROM (SELECT p.org_id, a.platform,
               extract(epoch FROM p.published_at - p.due_at)::double precision AS lateness_s
          FROM caas.scheduled_posts p
          JOIN caas.social_accounts a ON a.org_id = p.org_id AND a.account_id = p.account_id
         WHERE p.state = 'published') l
 GROUP BY l.org_id, l.platform;
COMMENT ON VIEW caas.analytics_publish_lateness IS
  'Analytics: per organisation and platform, the published posts and how late they went out (published_at - due_at, in seconds): average, median and 95th percentile (percentile_cont) and maximum. Read-only; for caas_analyst.';
COMMENT ON COLUMN caas.analytics_publish_lateness.published_posts IS 'Posts in state published.';
COMMENT ON COLUMN caas.analytics_publish_lateness.avg_lateness_s IS 'Mean of published_at - due_at, seconds.';
COMMENT ON COLUMN caas.analytics_publish_lateness.p50_lateness_s IS 'Median of published_at - due_at, seconds (interpolated).';
COMMENT ON COLUMN caas.analytics_publish_lateness.p95_lateness_s IS '95th percentile of published_at - due_at, seconds (interpolated).';
COMMENT ON COLUMN caas.analytics_publish_lateness.max_lateness_s IS 'Largest published_at - due_at, seconds.';

CREATE VIEW caas.analytics_ai_models AS
SELECT v.org_id,
       v.ai_provider,
       v.ai_model,
       (date_trunc('month', v.created_at AT TIME ZONE 'UTC'))::date AS month,
       count(*) AS versions,
       sum(v.prompt_tokens)::bigint AS prompt_tokens,
       sum(v.completion_tokens)::bigint AS completion_tokens
  FROM caas.content_versions v
 WHERE v.source = 'ai'
 GROUP BY v.org_id, v.ai_provider, v.ai_model, (date_trunc('month', v.created_at AT TIME ZONE 'UTC'))::date;
COMMENT ON VIEW caas.analytics_ai_models IS
  'Analytics: AI-generated content versions per organisation, AI provider, model and UTC calendar month, with the tokens the provider billed for them. Read-only; for caas_analyst.';
COMMENT ON COLUMN caas.analytics_ai_models.month IS 'First day of the UTC calendar month the versions were created in.';
COMMENT ON COLUMN caas.analytics_ai_models.versions IS 'Content versions with source ai.';
COMMENT ON COLUMN caas.analytics_ai_models.prompt_tokens IS 'Sum of their prompt (input) tokens.';
COMMENT ON COLUMN caas.analytics_ai_models.completion_tokens IS 'Sum of their completion (output) tokens.';

CREATE VIEW caas.analytics_ai_usage AS
SELECT u.org_id,
       u.period_start,
       u.period_end,
       u.ai_generations,
       u.ai_prompt_tokens,
       u.ai_completion_tokens,
       coalesce(m.versions, 0) AS ai_versions,
       coalesce(m.by_model, '[]'::jsonb) AS by_model
  FROM caas.usage u
  LEFT JOIN LATERAL (
         SELECT sum(g.versions)::bigint AS versions,
                jsonb_agg(jsonb_build_object('ai_provider', g.ai_provider, 'ai_model', g.ai_model,
                                             'versions', g.versions,
                                             'prompt_tokens', g.prompt_tokens,
                                             'completion_tokens', g.completion_tokens)
                          ORDER BY g.ai_provider, g.ai_model) AS by_model
           FROM (SELECT v.ai_provider, v.ai_model, count(*) AS versions,
                        sum(v.prompt_tokens)::bigint AS prompt_tokens,
                        sum(v.completion_tokens)::bigint AS completion_tokens
                   FROM caas.content_versions v
                  WHERE v.org_id = u.org_id AND v.source = 'ai'
                    AND v.created_at >= u.period_start AND v.created_at < u.period_end
                  GROUP BY v.ai_provider, v.ai_model) g) m ON true;
COMMENT ON VIEW caas.analytics_ai_usage IS
  'Analytics: AI use per organisation per billing period: the metered counters of caas.usage (generations, prompt and completion tokens) and the AI-generated content versions created in the period, in total and by provider and model (by_model: [{"ai_provider", "ai_model", "versions", "prompt_tokens", "completion_tokens"}], ordered by provider and model). Read-only; for caas_analyst.';
COMMENT ON COLUMN caas.analytics_ai_usage.ai_generations IS 'Metered AI generations in the period (caas.usage).';
COMMENT ON COLUMN caas.analytics_ai_usage.ai_prompt_tokens IS 'Metered prompt tokens in the period (caas.usage).';
COMMENT ON COLUMN caas.analytics_ai_usage.ai_completion_tokens IS 'Metered completion tokens in the period (caas.usage).';
COMMENT ON COLUMN caas.analytics_ai_usage.ai_versions IS 'Content versions with source ai created in the period (a generation whose draft was discarded has no version).';
COMMENT ON COLUMN caas.analytics_ai_usage.by_model IS 'Those versions by provider and model, with their tokens: a JSON array, ordered by provider and model.';

CREATE VIEW caas.analytics_quota_usage AS
SELECT o.org_id,
       pl.plan_id,
       bp.period_start,
       bp.period_end,
       q.quota,
       q.used,
       q.quota_limit,
       round(100.0 * q.used / nullif(q.quota_limit, 0), 1) AS percent
  FROM caas.organizations o
  CROSS JOIN LATERAL caas._org_plan(o.org_id) pl
  CROSS JOIN LATERAL caas._billing_period(o.org_id) bp
  LEFT JOIN caas.usage u ON u.org_id = o.org_id AND u.period_start = bp.period_start
  CROSS JOIN LATERAL (VALUES
    ('ai_generations', coalesce(u.ai_generations, 0)::bigint, pl.ai_generations_per_month),
    ('scheduled_posts', coalesce(u.scheduled_posts, 0)::bigint, pl.scheduled_posts_per_month),
    ('x_posts', coalesce(u.x_posts, 0)::bigint, pl.x_posts_per_month),
    ('members', (SELECT count(*) FROM caas.organization_members m WHERE m.org_id = o.org_id),
        pl.max_members),
    ('workspaces', (SELECT count(*) FROM caas.workspaces w WHERE w.org_id = o.org_id),
        pl.max_workspaces),
    ('social_accounts', (SELECT count(*) FROM caas.social_accounts a
                             WHERE a.org_id = o.org_id AND a.status <> 'disconnected'),
        pl.max_social_accounts)
  ) q(quota, used, quota_limit);
COMMENT ON VIEW caas.analytics_quota_usage IS
  'Analytics: per organisation, one row per plan limit: the plan that applies now (caas._org_plan), the current billing period (the one quotas count in), what is used (per-period counters from caas.usage; members, workspaces and non-disconnected social accounts counted now), the limit and the percentage used. Read-only; for caas_analyst.';
COMMENT ON COLUMN caas.analytics_quota_usage.plan_id IS 'Plan whose limits apply now (free without an active subscription).';
COMMENT ON COLUMN caas.analytics_quota_usage.period_start IS 'Start of the current billing period.';
COMMENT ON COLUMN caas.analytics_quota_usage.period_end IS 'End (exclusive) of the current billing period.';
COMMENT ON COLUMN caas.analytics_quota_usage.quota IS 'ai_generations, scheduled_posts, x_posts (per period), members, workspaces or social_accounts (counts).';
COMMENT ON COLUMN caas.analytics_quota_usage.used IS 'Use in the current period, or the current count.';
COMMENT ON COLUMN caas.analytics_quota_usage.quota_limit IS 'The plan''s limit; NULL means unlimited.';
COMMENT ON COLUMN caas.analytics_quota_usage.percent IS '100 * used / limit, one decimal; NULL when unlimited or the limit is 0.';

-- Analysts only: not end users, who read their own usage through RLS.
GRANT SELECT ON caas.analytics_posts_daily, caas.analytics_publish_lateness, caas.analytics_ai_models,
  caas.analytics_ai_usage, caas.analytics_quota_usage
  TO caas_analyst;
-- Called by analytics_quota_usage as the querying role.
-- A view's functions run with the querying role's EXECUTE privilege: the
-- analyst, who reads every organisation by design, gets the unguarded lookups.
GRANT EXECUTE ON FUNCTION caas._org_plan(uuid), caas._billing_period(uuid) TO caas_analyst;
