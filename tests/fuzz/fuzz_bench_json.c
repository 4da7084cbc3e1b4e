/* libFuzzer target: rpcrouter-bench's strict JSON reader
 * (bench/bench_json_read.c), which `rpcrouter-bench report` runs on every
 * line of a result file.
 *
 * Input: one byte choosing the error buffer's size (0, 1, 8, 12, 13 or
 * 256 bytes: the "offset N: " prefix cut at every point), then the text,
 * copied into a block of exactly its length (no NUL: ASan sees a read past
 * the end).
 *
 * Checks:
 *  - failure: *out is NULL, the message is NUL-terminated inside the
 *    buffer and, when the buffer holds it, starts with "offset ";
 *  - success: the tree keeps the header's promises (strings NUL-free,
 *    len == strlen, well-formed UTF-8 without surrogates; numbers finite;
 *    object keys unique; depth <= BENCH_JSON_MAX_DEPTH); every lookup
 *    helper answers for every key of the root;
 *  - round trip: the tree written back as JSON (escaped, numbers as %.17g)
 *    parses again to the same tree, number bits included.
 * Seeds: corpus/bench_json (result lines from tests/bench/fixtures and
 * hand-written edge cases). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_json_read.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 3629 section 4, as the reader promises: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static bool jf_utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < k)
			return false;
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k;
	}
	return true;
}

static void jf_check_tree(const struct bench_json *v, int depth)
{
	FUZZ_INVARIANT(v != NULL, "a NULL node");
	switch (v->type) {
	case BENCH_JSON_NULL:
	case BENCH_JSON_FALSE:
	case BENCH_JSON_TRUE: break;
	case BENCH_JSON_NUMBER: FUZZ_INVARIANT(isfinite(v->num), "a number is not finite"); break;
	case BENCH_JSON_STRING:
		FUZZ_INVARIANT(v->str != NULL, "a string without bytes");
		FUZZ_INVARIANT(strlen(v->str) == v->len, "a string's len is not its strlen");
		FUZZ_INVARIANT(jf_utf8_ok((const unsigned char *)v->str, v->len),
			 "a string is not well-formed UTF-8");
		break;
	case BENCH_JSON_ARRAY:
	case BENCH_JSON_OBJECT:
		FUZZ_INVARIANT(depth < BENCH_JSON_MAX_DEPTH, "nested deeper than the cap");
		FUZZ_INVARIANT(v->len == 0 || v->items != NULL, "members without an item array");
		if (v->type == BENCH_JSON_OBJECT)
			FUZZ_INVARIANT(v->len == 0 || v->keys != NULL, "members without a key array");
		for (size_t i = 0; i < v->len; i++) {
			jf_check_tree(v->items[i], depth + 1);
			if (v->type != BENCH_JSON_OBJECT)
				continue;
			FUZZ_INVARIANT(v->keys[i] != NULL, "a NULL key");
			FUZZ_INVARIANT(jf_utf8_ok((const unsigned char *)v->keys[i], strlen(v->keys[i])),
				 "a key is not well-formed UTF-8");
			for (size_t j = 0; j < i; j++)
				FUZZ_INVARIANT(strcmp(v->keys[i], v->keys[j]) != 0, "a duplicate key");
			/* the first (and only) member of that name */
			FUZZ_INVARIANT(bench_json_get(v, v->keys[i]) == v->items[i],
				 "bench_json_get does not find a member");
		}
		break;
	default: FUZZ_INVARIANT(false, "an unknown node type");
	}
}

/* A growing output buffer for the writer. */
struct jf_out {
	char *b;
	size_t n, cap;
};

static void jf_put(struct jf_out *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->n + n + 1)
			cap *= 2;
		char *nb = realloc(o->b, cap);
		FUZZ_INVARIANT(nb != NULL, "out of memory in the writer");
		o->b = nb;
		o->cap = cap;
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
	o->b[o->n] = '\0';
}

static void jf_put_str(struct jf_out *o, const char *s, size_t n)
{
	jf_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jf_put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jf_put(o, esc, 6);
		} else {
			jf_put(o, &s[i], 1);
		}
	}
	jf_put(o, "\"", 1);
}

static void jf_write(struct jf_out *o, const struct bench_json *v)
{
	char num[40];
	switch (v->type) {
	case BENCH_JSON_NULL: jf_put(o, "null", 4); break;
	case BENCH_JSON_FALSE: jf_put(o, "false", 5); break;
	case BENCH_JSON_TRUE: jf_put(o, "true", 4); break;
	case BENCH_JSON_NUMBER: {
		int n = snprintf(num, sizeof(num), "%.17g", v->num);
		jf_put(o, num, (size_t)n);
		break;
	}
	case BENCH_JSON_STRING: jf_put_str(o, v->str, v->len); break;
	case BENCH_JSON_ARRAY:
	case BENCH_JSON_OBJECT:
		jf_put(o, v->type == BENCH_JSON_OBJECT ? "{" : "[", 1);
		for (size_t i = 0; i < v->len; i++) {
			if (i)
				jf_put(o, ",", 1);
			if (v->type == BENCH_JSON_OBJECT) {
				jf_put_str(o, v->keys[i], strlen(v->keys[i]));
				jf_put(o, ":", 1);
			}
			jf_write(o, v->items[i]);
		}
		jf_put(o, v->type == BENCH_JSON_OBJECT ? "}" : "]", 1);
		break;
	}
}

static void jf_check_same(const struct bench_json *a, const struct bench_json *b)
{
	FUZZ_INVARIANT(a->type == b->type, "round trip changed a type");
	switch (a->type) {
	case BENCH_JSON_NUMBER:
		FUZZ_INVARIANT(memcmp(&a->num, &b->num, sizeof(a->num)) == 0,
			 "round trip changed a number");
		break;
	case BENCH_JSON_STRING:
		FUZZ_INVARIANT(a->len == b->len && memcmp(a->str, b->str, a->len) == 0,
			 "round trip changed a string");
		break;
	case BENCH_JSON_ARRAY:
	case BENCH_JSON_OBJECT:
		FUZZ_INVARIANT(a->len == b->len, "round trip changed a member count");
		for (size_t i = 0; i < a->len; i++) {
			if (a->type == BENCH_JSON_OBJECT)
				FUZZ_INVARIANT(strcmp(a->keys[i], b->keys[i]) == 0,
					 "round trip changed a key or the member order");
			jf_check_same(a->items[i], b->items[i]);
		}
		break;
	default: break;
	}
}

/* The report's accessors on every key of the root, as a path and with a
 * second level (keys without dots only: a dot is a path separator). */
static void jf_lookups(const struct bench_json *root)
{
	if (root->type != BENCH_JSON_OBJECT)
		return;
	for (size_t i = 0; i < root->len; i++) {
		const char *k = root->keys[i];
		if (strchr(k, '.') != NULL || k[0] == '\0' || strlen(k) >= 128)
			continue;
		const struct bench_json *v = bench_json_path(root, k);
		FUZZ_INVARIANT(v == root->items[i], "bench_json_path does not find a root member");
		double d = bench_json_num(root, k, -1.5);
		if (v->type == BENCH_JSON_NUMBER)
			FUZZ_INVARIANT(memcmp(&d, &v->num, sizeof d) == 0, "bench_json_num is wrong");
		const char *s = bench_json_str(root, k, NULL);
		FUZZ_INVARIANT(s == (v->type == BENCH_JSON_STRING ? v->str : NULL),
			 "bench_json_str is wrong");
		(void)bench_json_bool(root, k, false);
		if (v->type == BENCH_JSON_OBJECT && v->len > 0) {
			char path[300];
			snprintf(path, sizeof(path), "%s.%s", k, v->keys[0]);
			(void)bench_json_num(root, path, 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errlens[] = {256, 0, 1, 8, 12, 13};
	size_t errlen = 256;
	if (size > 0) {
		errlen = errlens[data[0] % (sizeof(errlens) / sizeof(errlens[0]))];
		data++;
		size--;
	}
	char *text = malloc(size ? size : 1);
	FUZZ_INVARIANT(text != NULL, "out of memory");
	if (size)
		memcpy(text, data, size);
	char *err = errlen ? malloc(errlen) : NULL;
	if (err)
		memset(err, 'X', errlen);

	struct bench_json *v = (struct bench_json *)1;
	int rc = bench_json_parse(text, size, &v, err, errlen);
	if (rc != 0) {
		FUZZ_INVARIANT(rc == -1, "parse returned neither 0 nor -1");
		FUZZ_INVARIANT(v == NULL, "a failed parse left a tree");
		if (err) {
			FUZZ_INVARIANT(memchr(err, '\0', errlen) != NULL, "the error is not terminated");
			if (errlen > 7)
				FUZZ_INVARIANT(strncmp(err, "offset ", 7) == 0 || strlen(err) < 7,
					 "the error does not start with its offset");
			if (errlen == 256)
				FUZZ_INVARIANT(strlen(err) > 8, "a failure without a message");
		}
	} else {
		FUZZ_INVARIANT(v != NULL, "a parse succeeded without a tree");
		jf_check_tree(v, 0);
		jf_lookups(v);
		struct jf_out o = {0};
		jf_write(&o, v);
		struct bench_json *w = NULL;
		char e2[256];
		int rc2 = bench_json_parse(o.b, o.n, &w, e2, sizeof e2);
		if (rc2 != 0)
			fprintf(stderr, "fuzz_bench_json: re-parse of \"%s\": %s\n", o.b, e2);
		FUZZ_INVARIANT(rc2 == 0, "the written tree does not parse");
		jf_check_same(v, w);
		bench_json_free(w);
		free(o.b);
	}
	bench_json_free(v);
	free(err);
	free(text);
	return 0;
}
