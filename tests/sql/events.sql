--
-- tests/sql/events.sql — the organisation's event channel
-- (extension/sql/0.2/082_events.sql), what pgTAP can see of it.
--
-- Covers: caas.events_channel_name(org) is caas_org_ and the id's 32 hex
-- digits, immutable, private (no caas role may call it); caas.events_channel
-- as a member (even a viewer) answers that name; for an outsider P0002,
-- without identity 42501; the triggers exist: statement triggers with
-- transition tables after INSERT and after UPDATE on scheduled_posts (the
-- function compares the old and new states), a row trigger after UPDATE OF
-- status on social_accounts only when the status changed; the trigger
-- functions name the channel exactly as events_channel_name.  The
-- notifications themselves are delivered at commit, which a pgTAP
-- transaction never reaches: tests/integration/events_notify.t checks
-- their payloads, one per post of a many-row statement, and that an
-- unchanged state sends nothing.
--
-- Fixed ids (00000000-0000-4000-8000-000000000XXX): 5c1/5c2 organisations,
-- 5a1 viewer of 5c1, 5a2 owner of 5c2.
--

BEGIN;
SELECT plan(14);

INSERT INTO caas.users (user_id, email, password_hash) VALUES
  ('00000000-0000-4000-8000-0000000005a1', 'events-viewer@example.com', '$argon2id$x'),
  ('00000000-0000-4000-8000-0000000005a2', 'events-other@example.com', '$argon2id$x');
INSERT INTO caas.organizations (org_id, name, slug) VALUES
  ('00000000-0000-4000-8000-0000000005c1', 'Events', 'events'),
  ('00000000-0000-4000-8000-0000000005c2', 'Other', 'events-other');
INSERT INTO caas.organization_members (org_id, user_id, role) VALUES
  ('00000000-0000-4000-8000-0000000005c1', '00000000-0000-4000-8000-0000000005a1', 'viewer'),
  ('00000000-0000-4000-8000-0000000005c2', '00000000-0000-4000-8000-0000000005a2', 'owner');

SELECT is(caas.events_channel_name('00000000-0000-4000-8000-0000000005c1'), 'caas_org_000000000000400080000000000005c1',
  'the channel of an organisation is caas_org_ and its id''s 32 hex digits');
SELECT is((SELECT provolatile FROM pg_catalog.pg_proc WHERE oid = 'caas.events_channel_name(uuid)'::regprocedure),
  'i', 'events_channel_name is immutable');
SELECT is_empty($$
  SELECT r FROM unnest(ARRAY['caas_anon', 'caas_user', 'caas_analyst', 'caas_dispatcher', 'caas_authenticator']) r
   WHERE has_function_privilege(r, 'caas.events_channel_name(uuid)', 'EXECUTE')
$$, 'events_channel_name is private: no caas role may call it');

SET LOCAL ROLE caas_user;
SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000005a1"}', true);
SELECT is(caas.events_channel('00000000-0000-4000-8000-0000000005c1'), 'caas_org_000000000000400080000000000005c1',
  'a viewer gets the channel of their organisation');
SELECT throws_ok($$ SELECT caas.events_channel('00000000-0000-4000-8000-0000000005c2') $$,
  'P0002', 'organization not found', 'not the channel of an organisation they are not in (P0002)');
SELECT throws_ok($$ SELECT caas.events_channel_name('00000000-0000-4000-8000-0000000005c2') $$,
  '42501', NULL, 'nor through the private name function (42501)');
SELECT set_config('request.jwt.claims', '', true);
SELECT throws_ok($$ SELECT caas.events_channel('00000000-0000-4000-8000-0000000005c1') $$,
  '42501', NULL, 'without a caller identity there is no channel (42501)');
RESET ROLE;
SET LOCAL ROLE caas_anon;
SELECT throws_ok($$ SELECT caas.events_channel('00000000-0000-4000-8000-0000000005c1') $$,
  '42501', NULL, 'caas_anon cannot ask for a channel');
RESET ROLE;

-- ------------------------------------------------------------- triggers --

CREATE FUNCTION pg_temp.trigger_of(tbl regclass, trigger_name name)
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = trigger_name $$;

SELECT is(pg_temp.trigger_of('caas.scheduled_posts', 'events'),
  'CREATE TRIGGER events AFTER INSERT ON caas.scheduled_posts REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION caas._post_events()',
  'new scheduled posts notify their organisation''s channel, once per statement');
SELECT is(pg_temp.trigger_of('caas.scheduled_posts', 'events_update'),
  'CREATE TRIGGER events_update AFTER UPDATE ON caas.scheduled_posts REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION caas._post_events()',
  'updated posts go to the same function, with their old and new rows ...');
SELECT ok(position('WHERE o.state IS DISTINCT FROM n.state' IN
                   (SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = 'caas._post_events()'::regprocedure)) > 0,
  '... which notifies only the posts whose state changed');
SELECT is(pg_temp.trigger_of('caas.social_accounts', 'events_update'),
  'CREATE TRIGGER events_update AFTER UPDATE OF status ON caas.social_accounts FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION caas._account_event()',
  'a change of an account''s status notifies it, an update keeping the status does not');

-- The trigger functions spell the channel name out inline, for speed.
SELECT is_empty($$
  SELECT p.proname FROM pg_catalog.pg_proc p
   WHERE (p.oid = 'caas._post_events()'::regprocedure
          AND (length(p.prosrc) - length(replace(p.prosrc, $q$pg_notify('caas_org_' || replace(n.org_id::text, '-', ''), $q$, '')))
              / length($q$pg_notify('caas_org_' || replace(n.org_id::text, '-', ''), $q$) <> 2)
      OR (p.oid = 'caas._account_event()'::regprocedure
          AND position($q$pg_notify('caas_org_' || replace(NEW.org_id::text, '-', ''), $q$ IN p.prosrc) = 0)
$$, 'both trigger functions notify the channel caas.events_channel_name names ...');
SELECT is((SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = 'caas.events_channel_name(uuid)'::regprocedure),
  E'\n  SELECT ''caas_org_'' || replace(org::text, ''-'', '''')\n',
  '... with the same expression as caas.events_channel_name');

SELECT * FROM finish();
ROLLBACK;
