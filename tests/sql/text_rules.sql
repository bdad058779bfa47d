--
-- tests/sql/text_rules.sql — platform text rules as SQL sees them: X's
-- weighted length (the conformance suite itself runs in the C units against
-- tests/fixtures/twitter-text), LinkedIn and Instagram limits, Instagram's
-- image, as the end-user role.
--
BEGIN;
SELECT plan(16);
SET LOCAL ROLE caas_user;

SELECT is(caas.x_weighted_length('hello'), 5, 'Latin letters weigh 1');
SELECT is(caas.x_weighted_length('日本語'), 6, 'CJK characters weigh 2');
SELECT is(caas.x_weighted_length('🎉'), 2, 'an emoji weighs 2');
SELECT is(caas.x_weighted_length('👩‍👩‍👧‍👦'), 2, 'a ZWJ family sequence is one emoji');
SELECT is(caas.x_weighted_length('see https://example.com/' || repeat('a', 200)), 27, 'a URL counts 23 whatever its length');
SELECT is(caas.x_weighted_length('A' || U&'\0301'), 1, 'text is NFC-normalised first (A + combining acute = Á)');
SELECT ok(caas.x_text_is_valid(repeat('a', 280)), '280 Latin characters are valid on X');
SELECT ok(NOT caas.x_text_is_valid(repeat('a', 281)), '281 are not');
SELECT ok(NOT caas.x_text_is_valid(repeat('の', 141)), '141 CJK characters are over the limit');

SELECT lives_ok($$ SELECT caas.check_post_text('x', repeat('の', 140)) $$, 'X accepts 140 CJK characters');
SELECT throws_ok($$ SELECT caas.check_post_text('x', repeat('の', 141)) $$, 'CA003',
  'text too long for X: 282 of 280 weighted characters', 'X refuses 141 CJK characters, naming the count and the limit');
SELECT throws_ok($$ SELECT caas.check_post_text('linkedin', repeat('a', 3001)) $$, 'CA003',
  'text too long for LinkedIn: 3001 of 3000 characters', 'LinkedIn refuses 3,001 characters');
SELECT lives_ok($$ SELECT caas.check_post_text('linkedin', repeat('a', 3000)) $$, 'LinkedIn accepts 3,000 characters');
SELECT throws_ok($$ SELECT caas.check_post_text('instagram', 'a photo', '{}') $$, 'CA003',
  'Instagram needs an image', 'Instagram refuses a post without an image');
SELECT throws_ok($$ SELECT caas.check_post_text('instagram', repeat('a', 2201), '{https://img.example.com/a.jpg}') $$, 'CA003',
  'text too long for Instagram: 2201 of 2200 characters', 'Instagram refuses 2,201 characters');
SELECT throws_ok($$ SELECT caas.check_post_text('x', E'  \n ') $$, 'CA003', 'X needs text to post',
  'whitespace-only text is refused');

SELECT * FROM finish();
ROLLBACK;
