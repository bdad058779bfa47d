/*
 * tests/fakes/fake_stripe_form.c — application/x-www-form-urlencoded bodies
 * for the fake Stripe API: pairs split on '&' and '=', '+' and %XX decoded
 * in names and values alike (so "line_items%5B0%5D%5Bprice%5D" is the
 * bracket name "line_items[0][price]"), kept in the order received, and
 * shown as a flat JSON object keyed by the decoded names.
 *
 * Memory: a form owns its decoded names and values (fs_form_clear frees
 * them); fs_form_json and fs_json_text return new JSON values the caller
 * owns.  No state: safe from any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_stripe.h"

/* fs_json_text: a JSON string of s; bytes that are not UTF-8 become '?'. */
json_t *
fs_json_text(const char *s)
{
	json_t	*j;
	char	*c, *p;

	if ((j = json_string(s)) != NULL)
		return (j);
	if ((c = strdup(s)) == NULL)
		abort();
	for (p = c; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return (j);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* decode: '+' is a space, %XX a byte; a stray '%' stays as it is. */
static char *
decode(const char *s, size_t n)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(n + 1)) == NULL)
		abort();
	for (i = 0, o = out; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return (out);
}

void
fs_form_parse(struct fs_form *f, const char *body, size_t len)
{
	const char	*p = body, *end = body + len, *amp, *eq;
	struct fs_param	*v;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp > p) {
			if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
				eq = amp;
			if (f->n == f->cap) {
				f->cap = f->cap ? f->cap * 2 : 16;
				if ((f->v = realloc(f->v, f->cap * sizeof(*f->v))) == NULL)
					abort();
			}
			v = &f->v[f->n++];
			v->name = decode(p, (size_t)(eq - p));
			v->value = eq < amp ? decode(eq + 1, (size_t)(amp - eq - 1)) :
			    decode("", 0);
		}
		p = amp + 1;
	}
}

void
fs_form_clear(struct fs_form *f)
{
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

const char *
fs_form_get(const struct fs_form *f, const char *name)
{
	size_t	 i;

	for (i = f->n; i > 0; i--)
		if (strcmp(f->v[i - 1].name, name) == 0)
			return (f->v[i - 1].value);
	return (NULL);
}

json_t *
fs_form_json(const struct fs_form *f)
{
	json_t	*o = json_object(), *old, *k, *a;
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		k = fs_json_text(f->v[i].name);
		if (k == NULL)
			continue;
		old = json_object_get(o, json_string_value(k));
		if (old == NULL)
			json_object_set_new(o, json_string_value(k), fs_json_text(f->v[i].value));
		else if (json_is_array(old))
			json_array_append_new(old, fs_json_text(f->v[i].value));
		else {
			a = json_pack("[O, o]", old, fs_json_text(f->v[i].value));
			json_object_set_new(o, json_string_value(k), a);
		}
		json_decref(k);
	}
	return (o);
}
