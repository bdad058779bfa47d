--
-- tests/sql/text_diff.sql — caas.text_diff (extension/src/diff_api.c over
-- textdiff.c): word-level diffs of two versions' texts, as an end user.
--
BEGIN;
SELECT plan(6);

SET LOCAL ROLE caas_user;

SELECT is(caas.text_diff('a b c', 'a x c') -> 'ops',
  '[{"op": "equal", "text": "a "}, {"op": "delete", "text": "b"}, {"op": "insert", "text": "x"}, {"op": "equal", "text": " c"}]'::jsonb,
  'one changed word shows as a delete and an insert between equal runs');
SELECT is((caas.text_diff('a b c', 'a x c') ->> 'inserted_chars')::int, 1, 'inserted characters are counted');
SELECT is(caas.text_diff('same', 'same') -> 'ops', '[{"op": "equal", "text": "same"}]'::jsonb,
  'identical texts are one equal run');
SELECT is((caas.text_diff('', '日本語 🎉') ->> 'inserted_chars')::int, 5,
  'characters are counted as code points, CJK and emoji included');
SELECT is((SELECT string_agg(o ->> 'text', '' ORDER BY n)
             FROM jsonb_array_elements(caas.text_diff('The quick brown fox', 'The slow brown cat jumps') -> 'ops')
                  WITH ORDINALITY AS t(o, n)
            WHERE o ->> 'op' <> 'delete'),
  'The slow brown cat jumps', 'equal and inserted runs rebuild the new text');
SELECT throws_ok($$ SELECT caas.text_diff(repeat('x', 300000), 'y') $$, '22023', NULL,
  'texts over the size limit are refused with 22023');

SELECT * FROM finish();
ROLLBACK;
