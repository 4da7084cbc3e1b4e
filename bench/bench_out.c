/* bench_out: see bench_out.h. */
#include "bench_out.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

bool bench_out_open(struct bench_out *o)
{
	*o = (struct bench_out){0};
	o->f = open_memstream(&o->buf, &o->len);
	o->first[0] = true;
	return o->f != NULL;
}

const char *bench_out_finish(struct bench_out *o)
{
	fputc('\n', o->f);
	fflush(o->f);
	return o->buf;
}

void bench_out_free(struct bench_out *o)
{
	if (o->f)
		fclose(o->f);
	free(o->buf);
	*o = (struct bench_out){0};
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void put_key(struct bench_out *o, const char *key)
{
	if (!o->first[o->depth])
		fputc(',', o->f);
	o->first[o->depth] = false;
	if (key) {
		put_escaped(o->f, key);
		fputc(':', o->f);
	}
}

static void open_nested(struct bench_out *o, const char *key, char c)
{
	if (o->depth == 0 && o->first[0] && c == '{' && !key) {
		/* the top-level object */
	} else {
		put_key(o, key);
	}
	fputc(c, o->f);
	if (o->depth + 1 < BENCH_OUT_DEPTH)
		o->depth++;
	o->first[o->depth] = true;
}

void bench_out_obj(struct bench_out *o, const char *key)
{
	open_nested(o, key, '{');
}

void bench_out_arr(struct bench_out *o, const char *key)
{
	open_nested(o, key, '[');
}

void bench_out_end(struct bench_out *o, char close)
{
	fputc(close, o->f);
	if (o->depth > 0)
		o->depth--;
}

void bench_out_str(struct bench_out *o, const char *key, const char *v)
{
	put_key(o, key);
	put_escaped(o->f, v ? v : "");
}

void bench_out_u64(struct bench_out *o, const char *key, uint64_t v)
{
	put_key(o, key);
	fprintf(o->f, "%" PRIu64, v);
}

void bench_out_i64(struct bench_out *o, const char *key, int64_t v)
{
	put_key(o, key);
	fprintf(o->f, "%" PRId64, v);
}

void bench_out_dbl(struct bench_out *o, const char *key, double v)
{
	put_key(o, key);
	if (!isfinite(v))
		v = 0;
	/* Enough digits for ns-derived microseconds and rates; an integral
	 * value still prints as a JSON number ("2" is valid). */
	fprintf(o->f, "%.10g", v);
}

void bench_out_bool(struct bench_out *o, const char *key, bool v)
{
	put_key(o, key);
	fputs(v ? "true" : "false", o->f);
}
