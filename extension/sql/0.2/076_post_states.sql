--
-- 076_post_states.sql — the post state machine.
--
-- caas.post_transitions is the catalogue of allowed moves; the
-- check_transition trigger refuses every other one (CA002), for every role,
-- the superuser included.  A "move" is a change of state, or a change of
-- run_at/due_at within one state (re-timing: only scheduled→scheduled is
-- allowed), so updates that touch neither (a deleted author's id set to
-- NULL, a last_error) never count as transitions.  The trigger cannot know
-- who acts; the user-facing functions also require the catalogue row's actor
-- to be 'user' (caas._post_require_move), so a user cannot, say, put a
-- publishing post back to scheduled.
--
-- Cost: the dispatcher moves thousands of posts a second, so the check must
-- not run a query per row.  caas._post_move_listed(from, to) is the
-- catalogue compiled into a plain SQL expression (no table, no SET clause),
-- which PostgreSQL inlines into the trigger's WHEN condition: a listed move
-- is decided in the executor without calling any function, and only a move
-- the expression does not list reaches caas._post_check_transition, which
-- asks the table itself and raises.  A statement trigger on the catalogue
-- compiles the expression again after every change to it, in the same
-- transaction, so the table stays the one source of truth.
--

-- ------------------------------------------------------ state machine --

CREATE TABLE caas.post_transitions (
  from_state   caas.post_state NOT NULL,
  to_state     caas.post_state NOT NULL,
  actor        text NOT NULL CHECK (actor IN ('user', 'dispatcher', 'system')),
  description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 300),
  PRIMARY KEY (from_state, to_state)
);
COMMENT ON TABLE caas.post_transitions IS
  'The scheduled-post state machine as data: every allowed move of caas.scheduled_posts.state. The check_transition trigger refuses any other move with CA002, for every role. A change of run_at or due_at without a change of state is the move from a state to itself.';
COMMENT ON COLUMN caas.post_transitions.from_state IS 'State the post is in.';
COMMENT ON COLUMN caas.post_transitions.to_state IS 'State the post may move to.';
COMMENT ON COLUMN caas.post_transitions.actor IS 'Who makes this move: user (through the scheduling functions), dispatcher (claim and record), or system (sweeper, account disconnection).';
COMMENT ON COLUMN caas.post_transitions.description IS 'When and why the move happens.';

GRANT SELECT ON caas.post_transitions TO caas_user, caas_dispatcher;

-- API: Private
CREATE FUNCTION caas._post_check_transition()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM caas.post_transitions t
                  WHERE t.from_state = OLD.state AND t.to_state = NEW.state) THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002',
      MESSAGE = format('cannot move a post from %s to %s', OLD.state, NEW.state),
      DETAIL = CASE WHEN OLD.state = NEW.state
                    THEN format('A post in state %s cannot be moved in time.', OLD.state)
                    ELSE 'caas.post_transitions does not list this move.' END,
      HINT = 'The allowed moves are listed in caas.post_transitions.';
  END IF;
  RETURN NEW;
END;
$$;
COMMENT ON FUNCTION caas._post_check_transition() IS
  'Private trigger: refuses with CA002 a change of a scheduled post''s state, or of its run_at/due_at within one state, that caas.post_transitions does not list.';

-- API: Private
-- Compiled from caas.post_transitions by caas._post_transitions_compile();
-- this first body lists nothing (every move would then go to the trigger
-- function, which asks the table).  No SET clause, so that it is inlined:
-- schema-qualified operators instead.
CREATE FUNCTION caas._post_move_listed(from_state caas.post_state, to_state caas.post_state)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS $$ SELECT false $$;
COMMENT ON FUNCTION caas._post_move_listed(caas.post_state, caas.post_state) IS
  'Private: whether caas.post_transitions lists the move, as an expression compiled from the table (inlined into the check_transition trigger''s WHEN condition); recompiled by a trigger whenever the table changes.';

-- API: Private
CREATE FUNCTION caas._post_transitions_compile()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, caas
AS $$
BEGIN
  EXECUTE format($f$CREATE OR REPLACE FUNCTION caas._post_move_listed(from_state caas.post_state, to_state caas.post_state)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
AS %L$f$,
    ' SELECT ' || coalesce(
      (SELECT string_agg(format('(from_state OPERATOR(pg_catalog.=) %L::caas.post_state AND to_state OPERATOR(pg_catalog.=) %L::caas.post_state)',
                                t.from_state, t.to_state), E'\n      OR ' ORDER BY t.from_state, t.to_state)
         FROM caas.post_transitions t),
      'false') || ' ');
  RETURN NULL;
END;
$$;
COMMENT ON FUNCTION caas._post_transitions_compile() IS
  'Private trigger: compiles caas.post_transitions into caas._post_move_listed after every change to the table.';

CREATE TRIGGER compile AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON caas.post_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION caas._post_transitions_compile();

INSERT INTO caas.post_transitions (from_state, to_state, actor, description) VALUES
  ('scheduled',   'publishing',  'dispatcher', 'a dispatcher claims the due post and leases it'),
  ('scheduled',   'cancelled',   'user',       'a person cancels the post, or its account is disconnected'),
  ('scheduled',   'scheduled',   'user',       'a person reschedules the post to another instant'),
  ('publishing',  'published',   'dispatcher', 'the platform accepted the post and returned its id'),
  ('publishing',  'failed',      'dispatcher', 'permanent error, re-authorisation needed, or attempts exhausted'),
  ('publishing',  'unconfirmed', 'dispatcher', 'the request may have been sent but no answer came (also the sweeper on an expired lease)'),
  ('publishing',  'scheduled',   'dispatcher', 'retry later after a retryable outcome'),
  ('unconfirmed', 'published',   'user',       'a person checked the platform: the post is there'),
  ('unconfirmed', 'failed',      'user',       'a person checked the platform: the post is not there and stays failed'),
  ('unconfirmed', 'scheduled',   'user',       'a person checked the platform and schedules the post again'),
  ('unconfirmed', 'cancelled',   'user',       'a person gives the post up'),
  ('failed',      'scheduled',   'user',       'a person retries the failed post by rescheduling it'),
  ('cancelled',   'scheduled',   'user',       'a person schedules the cancelled post again');

CREATE TRIGGER check_transition BEFORE UPDATE ON caas.scheduled_posts
  FOR EACH ROW
  WHEN ((OLD.state IS DISTINCT FROM NEW.state
         OR OLD.run_at IS DISTINCT FROM NEW.run_at
         OR OLD.due_at IS DISTINCT FROM NEW.due_at)
        AND NOT caas._post_move_listed(OLD.state, NEW.state))
  EXECUTE FUNCTION caas._post_check_transition();

-- API: Private
CREATE FUNCTION caas._post_require_move(from_state caas.post_state, to_state caas.post_state, actor text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, caas
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM caas.post_transitions t
                  WHERE t.from_state = _post_require_move.from_state
                    AND t.to_state = _post_require_move.to_state
                    AND t.actor = _post_require_move.actor) THEN
    RAISE EXCEPTION USING ERRCODE = 'CA002',
      MESSAGE = format('cannot move a post from %s to %s', from_state, to_state),
      HINT = 'The allowed moves are listed in caas.post_transitions.';
  END IF;
END;
$$;
COMMENT ON FUNCTION caas._post_require_move(caas.post_state, caas.post_state, text) IS
  'Private: CA002 unless caas.post_transitions lets this actor (user, dispatcher, system) make the move.';


-- caas._post_move_listed keeps PUBLIC's EXECUTE: a trigger's WHEN condition
-- runs with the privileges of whoever updates the table, and the function
-- tells nothing caas.post_transitions does not.
REVOKE EXECUTE ON FUNCTION
  caas._post_check_transition(), caas._post_require_move(caas.post_state, caas.post_state, text),
  caas._post_transitions_compile()
  FROM PUBLIC;
