/*
 * bench_json_read: strict RFC 8259 reader (see bench_json_read.h).
 */
#include "bench_json_read.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_json_parser {
	const char *p, *start, *end;
	char *err;
	size_t errlen;
	int depth;
	bool failed;
};

static void bench_json_fail(struct bench_json_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void bench_json_fail(struct bench_json_parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return;
	ps->failed = true;
	if (!ps->err || !ps->errlen)
		return;
	int n = snprintf(ps->err, ps->errlen, "offset %zu: ", (size_t)(ps->p - ps->start));
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* RFC 8259 section 2: the four insignificant whitespace characters. */
static void bench_json_skip_ws(struct bench_json_parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct bench_json *bench_json_new(struct bench_json_parser *ps, enum bench_json_type t)
{
	struct bench_json *v = calloc(1, sizeof(*v));
	if (!v) {
		bench_json_fail(ps, "out of memory");
		return NULL;
	}
	v->type = t;
	return v;
}

void bench_json_free(struct bench_json *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->len && v->items; i++)
		bench_json_free(v->items[i]);
	for (size_t i = 0; i < v->len && v->keys; i++)
		free(v->keys[i]);
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

/* A growing byte buffer for decoded strings. */
struct bench_json_sbuf {
	char *b;
	size_t n, cap;
};

static bool bench_json_sbuf_put(struct bench_json_sbuf *s, const char *d, size_t n)
{
	if (s->n + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 32;
		while (cap < s->n + n + 1)
			cap *= 2;
		char *nb = realloc(s->b, cap);
		if (!nb)
			return false;
		s->b = nb;
		s->cap = cap;
	}
	memcpy(s->b + s->n, d, n);
	s->n += n;
	s->b[s->n] = '\0';
	return true;
}

static size_t bench_json_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if ill-formed. */
static size_t bench_json_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int bench_json_hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* RFC 8259 section 7. *out receives a malloc'd NUL-terminated string. */
static char *bench_json_string(struct bench_json_parser *ps, size_t *lenp)
{
	struct bench_json_sbuf s = {0};
	ps->p++; /* the opening quote */
	for (;;) {
		if (ps->p >= ps->end) {
			bench_json_fail(ps, "unterminated string");
			goto fail;
		}
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20) {
			bench_json_fail(ps, "control character 0x%02x in a string", c);
			goto fail;
		}
		if (c == '\\') {
			if (ps->end - ps->p < 2) {
				bench_json_fail(ps, "unterminated escape");
				goto fail;
			}
			char e = ps->p[1];
			const char *rep = NULL;
			switch (e) {
			case '"': rep = "\""; break;
			case '\\': rep = "\\"; break;
			case '/': rep = "/"; break;
			case 'b': rep = "\b"; break;
			case 'f': rep = "\f"; break;
			case 'n': rep = "\n"; break;
			case 'r': rep = "\r"; break;
			case 't': rep = "\t"; break;
			case 'u': break;
			default: bench_json_fail(ps, "bad escape \\%c", e); goto fail;
			}
			if (rep) {
				if (!bench_json_sbuf_put(&s, rep, 1))
					goto oom;
				ps->p += 2;
				continue;
			}
			uint32_t cp;
			if (ps->end - ps->p < 6 || bench_json_hex4(ps->p + 2, &cp) != 0) {
				bench_json_fail(ps, "bad \\u escape");
				goto fail;
			}
			ps->p += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate must be followed by an escaped low one. */
				uint32_t lo;
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
				    bench_json_hex4(ps->p + 2, &lo) != 0 || lo < 0xDC00 ||
				    lo > 0xDFFF) {
					bench_json_fail(ps, "lone high surrogate");
					goto fail;
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				bench_json_fail(ps, "lone low surrogate");
				goto fail;
			} else if (cp == 0) {
				/* Would make the C string ambiguous; no result has it. */
				bench_json_fail(ps, "\\u0000 not supported");
				goto fail;
			}
			char u[4];
			if (!bench_json_sbuf_put(&s, u, bench_json_utf8_encode(cp, u)))
				goto oom;
			continue;
		}
		size_t n = bench_json_utf8_len((const unsigned char *)ps->p,
					       (const unsigned char *)ps->end);
		if (!n) {
			bench_json_fail(ps, "invalid UTF-8");
			goto fail;
		}
		if (!bench_json_sbuf_put(&s, ps->p, n))
			goto oom;
		ps->p += n;
	}
	if (!s.b && !bench_json_sbuf_put(&s, "", 0))
		goto oom;
	*lenp = s.n;
	return s.b;
oom:
	bench_json_fail(ps, "out of memory");
fail:
	free(s.b);
	return NULL;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static struct bench_json *bench_json_number(struct bench_json_parser *ps)
{
	const char *s = ps->p, *p = ps->p;
	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end || !(*p >= '0' && *p <= '9')) {
		bench_json_fail(ps, "bad number");
		return NULL;
	}
	if (*p == '0') {
		p++;
		if (p < ps->end && *p >= '0' && *p <= '9') {
			bench_json_fail(ps, "leading zero in a number");
			return NULL;
		}
	} else {
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || !(*p >= '0' && *p <= '9')) {
			bench_json_fail(ps, "no digit after the decimal point");
			return NULL;
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || !(*p >= '0' && *p <= '9')) {
			bench_json_fail(ps, "no digit in the exponent");
			return NULL;
		}
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	char buf[128];
	size_t n = (size_t)(p - s);
	if (n >= sizeof(buf)) {
		bench_json_fail(ps, "number too long");
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	double d = strtod(buf, NULL);
	if (!isfinite(d)) {
		bench_json_fail(ps, "number out of range");
		return NULL;
	}
	struct bench_json *v = bench_json_new(ps, BENCH_JSON_NUMBER);
	if (!v)
		return NULL;
	v->num = d;
	ps->p = p;
	return v;
}

static struct bench_json *bench_json_value(struct bench_json_parser *ps);

static bool bench_json_push(struct bench_json_parser *ps, struct bench_json *c, size_t *cap,
			    struct bench_json *item, char *key)
{
	if (c->len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct bench_json **ni = realloc(c->items, ncap * sizeof(*ni));
		if (!ni)
			goto oom;
		c->items = ni;
		if (c->type == BENCH_JSON_OBJECT) {
			char **nk = realloc(c->keys, ncap * sizeof(*nk));
			if (!nk)
				goto oom;
			c->keys = nk;
		}
		*cap = ncap;
	}
	c->items[c->len] = item;
	if (c->type == BENCH_JSON_OBJECT)
		c->keys[c->len] = key;
	c->len++;
	return true;
oom:
	bench_json_fail(ps, "out of memory");
	bench_json_free(item);
	free(key);
	return false;
}

static struct bench_json *bench_json_container(struct bench_json_parser *ps, bool object)
{
	if (++ps->depth > BENCH_JSON_MAX_DEPTH) {
		bench_json_fail(ps, "nested deeper than %d", BENCH_JSON_MAX_DEPTH);
		return NULL;
	}
	char close = object ? '}' : ']';
	struct bench_json *c = bench_json_new(ps, object ? BENCH_JSON_OBJECT : BENCH_JSON_ARRAY);
	if (!c)
		return NULL;
	size_t cap = 0;
	ps->p++;
	bench_json_skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return c;
	}
	for (;;) {
		char *key = NULL;
		bench_json_skip_ws(ps);
		if (object) {
			size_t klen;
			if (ps->p >= ps->end || *ps->p != '"') {
				bench_json_fail(ps, "expected a member name");
				goto fail;
			}
			key = bench_json_string(ps, &klen);
			if (!key)
				goto fail;
			for (size_t i = 0; i < c->len; i++) {
				if (strcmp(c->keys[i], key) == 0) {
					bench_json_fail(ps, "duplicate key \"%s\"", key);
					free(key);
					goto fail;
				}
			}
			bench_json_skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				bench_json_fail(ps, "expected ':'");
				free(key);
				goto fail;
			}
			ps->p++;
		}
		struct bench_json *item = bench_json_value(ps);
		if (!item) {
			free(key);
			goto fail;
		}
		if (!bench_json_push(ps, c, &cap, item, key))
			goto fail;
		bench_json_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		bench_json_fail(ps, "expected ',' or '%c'", close);
		goto fail;
	}
	ps->depth--;
	return c;
fail:
	bench_json_free(c);
	return NULL;
}

static bool bench_json_literal(struct bench_json_parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static struct bench_json *bench_json_value(struct bench_json_parser *ps)
{
	bench_json_skip_ws(ps);
	if (ps->p >= ps->end) {
		bench_json_fail(ps, "expected a value");
		return NULL;
	}
	switch (*ps->p) {
	case '{': return bench_json_container(ps, true);
	case '[': return bench_json_container(ps, false);
	case '"': {
		size_t len;
		char *s = bench_json_string(ps, &len);
		if (!s)
			return NULL;
		struct bench_json *v = bench_json_new(ps, BENCH_JSON_STRING);
		if (!v) {
			free(s);
			return NULL;
		}
		v->str = s;
		v->len = len;
		return v;
	}
	case 't':
		if (bench_json_literal(ps, "true"))
			return bench_json_new(ps, BENCH_JSON_TRUE);
		break;
	case 'f':
		if (bench_json_literal(ps, "false"))
			return bench_json_new(ps, BENCH_JSON_FALSE);
		break;
	case 'n':
		if (bench_json_literal(ps, "null"))
			return bench_json_new(ps, BENCH_JSON_NULL);
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return bench_json_number(ps);
		break;
	}
	bench_json_fail(ps, "unexpected character '%c'", *ps->p);
	return NULL;
}

int bench_json_parse(const char *text, size_t len, struct bench_json **out, char *err,
		     size_t errlen)
{
	struct bench_json_parser ps = {
	    .p = text, .start = text, .end = text + len, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	struct bench_json *v = bench_json_value(&ps);
	if (v) {
		bench_json_skip_ws(&ps);
		if (ps.p != ps.end) {
			bench_json_fail(&ps, "text after the value");
			bench_json_free(v);
			v = NULL;
		}
	}
	if (!v)
		return -1;
	*out = v;
	return 0;
}

const struct bench_json *bench_json_get(const struct bench_json *v, const char *key)
{
	if (!v || v->type != BENCH_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->len; i++)
		if (strcmp(v->keys[i], key) == 0)
			return v->items[i];
	return NULL;
}

const struct bench_json *bench_json_path(const struct bench_json *v, const char *path)
{
	char part[128];
	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = bench_json_get(v, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return v;
}

double bench_json_num(const struct bench_json *v, const char *path, double dflt)
{
	const struct bench_json *n = bench_json_path(v, path);
	return n && n->type == BENCH_JSON_NUMBER ? n->num : dflt;
}

const char *bench_json_str(const struct bench_json *v, const char *path, const char *dflt)
{
	const struct bench_json *n = bench_json_path(v, path);
	return n && n->type == BENCH_JSON_STRING ? n->str : dflt;
}

bool bench_json_bool(const struct bench_json *v, const char *path, bool dflt)
{
	const struct bench_json *n = bench_json_path(v, path);
	if (n && n->type == BENCH_JSON_TRUE)
		return true;
	if (n && n->type == BENCH_JSON_FALSE)
		return false;
	return dflt;
}
