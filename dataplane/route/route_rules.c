/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address rules: the `address` sections of qdrouterd.conf compiled into a
 * token tree, matched as qdrouterd 1.19 matches them.
 *
 * Evidence (qpid-dispatch 1.19.0 sources, read to match behaviour):
 * - agent_config_address.c qdra_config_address_validate_pattern_CT: leading
 *   and trailing '.' and '/' are stripped from a prefix or pattern; nothing
 *   left is an error ("no tokens"); a prefix P becomes the pattern "P/#".
 *   So prefixes match on token boundaries: prefix "openstack.org/om/rpc/unicast"
 *   matches ".../unicast" and ".../unicast/x" and ".../unicast.x", not
 *   ".../unicastX".
 * - parse_tree.c (QD_PARSE_TREE_ADDRESS): tokens split at either '.' or '/'
 *   (interchangeable), leading separators skipped, an empty token between
 *   two separators is a token; "*" alone is one token, "#" alone zero or
 *   more; "a*" is a literal. normalize_pattern rewrites "#.#" -> "#" and
 *   "#.*" -> "*.#"; a pattern already in the tree is a duplicate (error).
 * - parse_tree.c parse_node_find*: a depth-first search that reports the
 *   first terminal it reaches (qd_parse_tree_retrieve_match, get_first). At
 *   each node it tries the literal child, then '*', then '#'; a node's own
 *   terminal comes before its children when the tokens are used up, and a
 *   '#' tries its children after consuming 0, 1, 2... tokens before its own
 *   terminal (which takes all the rest). "Most specific" is therefore
 *   decided at the first token where two candidates differ: for "a.b.c",
 *   "a.#" wins over "*.b.c"; a longer prefix wins over a shorter one.
 * - connections.c qdr_config_for_address_CT / iterator.c view_initialize:
 *   the address is matched without its scheme and host and without one
 *   trailing separator (route_addr_key).
 * - agent_config_address.c qdra_address_treatment_CT and qdrouter.json:
 *   distributions multicast, closest, balanced, unavailable; the router's
 *   defaultDistribution (balanced) applies when no rule matches.
 *
 * Differences, on purpose: qdrouterd copies the address into a C string,
 * so a NUL byte ends it; here every byte counts (a NUL is part of a token).
 * qdrouterd's search can take exponential time on hostile addresses against
 * patterns with several '#'; here a '#' node remembers the lowest position
 * from which it already failed in this search, which returns the same first
 * match in O(wildcard nodes x tokens).
 */
#include "route_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rnode_kind { RNODE_ROOT, RNODE_TOKEN, RNODE_STAR, RNODE_GLOB };

struct rnode {
	uint8_t kind;	      /* enum rnode_kind */
	bool terminal;	      /* a rule ends here */
	enum route_dist dist; /* when terminal */
	uint32_t glob_id;     /* RNODE_GLOB: index into the search scratch */
	char *pattern;	      /* when terminal: the normalized pattern (owned) */
	uint8_t *tok;	      /* RNODE_TOKEN: the literal token (owned) */
	size_t tok_len;
	struct rnode **kids; /* literal children sorted by (length, bytes) */
	uint32_t n_kids, cap_kids;
	struct rnode *star; /* '*' child */
	struct rnode *glob; /* '#' child */
};

struct route_rules {
	struct rnode root;
	enum route_dist default_dist;
	uint32_t n_globs;
	uint32_t n_rules;
};

static bool is_sep(uint8_t c)
{
	return c == '.' || c == '/';
}

/* ---- address key ------------------------------------------------------ */

const uint8_t *route_addr_key(const uint8_t *addr, size_t len, size_t *key_len)
{
	/* iterator.c view_initialize: START -> '/' SLASH_LEFT | SCANNING;
	 * SLASH_LEFT -> '/' SKIP_TO_SLASH | node id after the first '/';
	 * SCANNING -> ':' COLON; COLON -> '/' COLON_SLASH | SCANNING;
	 * COLON_SLASH -> '/' SKIP_TO_SLASH | node id after ":/";
	 * SKIP_TO_SLASH -> node id after the next '/'. No node id found: the
	 * whole address is relative and kept. */
	enum { START, SLASH_LEFT, SKIP, SCANNING, COLON, COLON_SLASH } st = START;
	size_t i = 0, start = 0;
	bool found = false;
	size_t save = 0;
	while (i < len && !found) {
		uint8_t c = addr[i++];
		switch (st) {
		case START:
			if (c == '/') {
				st = SLASH_LEFT;
				save = i;
			} else {
				st = SCANNING;
			}
			break;
		case SLASH_LEFT:
			if (c == '/') {
				st = SKIP;
			} else {
				found = true;
				start = save;
			}
			break;
		case SKIP:
			if (c == '/') {
				found = true;
				start = i;
			}
			break;
		case SCANNING:
			if (c == ':') {
				st = COLON;
			} else {
				/* Most addresses have no scheme: jump to the next ':'. */
				const uint8_t *q = memchr(addr + i, ':', len - i);
				i = q ? (size_t)(q - addr) : len;
			}
			break;
		case COLON:
			if (c == '/') {
				st = COLON_SLASH;
				save = i;
			} else {
				st = SCANNING;
			}
			break;
		case COLON_SLASH:
			if (c == '/') {
				st = SKIP;
			} else {
				found = true;
				start = save;
			}
			break;
		}
	}
	if (!found)
		start = 0;
	size_t n = len - start;
	/* iterator.c qd_iterator_remove_trailing_separator: one only. */
	if (n > 0 && is_sep(addr[start + n - 1]))
		n--;
	*key_len = n;
	return addr + start;
}

/* ---- token cursor (parse_tree.c token_iterator) ------------------------ */

struct tok_cursor {
	const uint8_t *s;
	size_t len;
	size_t begin; /* == len: done */
	size_t end;
};

static size_t find_sep(const uint8_t *s, size_t from, size_t len)
{
	while (from < len && !is_sep(s[from]))
		from++;
	return from;
}

static void cursor_init(struct tok_cursor *c, const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_sep(s[i]))
		i++;
	c->s = s;
	c->len = len;
	c->begin = i;
	c->end = find_sep(s, i, len);
}

static bool cursor_done(const struct tok_cursor *c)
{
	return c->begin == c->len;
}

static void cursor_next(struct tok_cursor *c)
{
	if (c->end == c->len) {
		c->begin = c->len;
	} else {
		c->begin = c->end + 1;
		c->end = find_sep(c->s, c->begin, c->len);
	}
}

/* ---- tree ------------------------------------------------------------- */

static int tok_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen ? memcmp(a, b, alen) : 0;
}

/* Binary search among the literal children; *pos is the insertion point. */
static struct rnode *kid_find(const struct rnode *n, const uint8_t *tok, size_t len, uint32_t *pos)
{
	uint32_t lo = 0, hi = n->n_kids;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct rnode *k = n->kids[mid];
		int c = tok_cmp(tok, len, k->tok, k->tok_len);
		if (c == 0) {
			if (pos)
				*pos = mid;
			return n->kids[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

static void rnode_free(struct rnode *n)
{
	for (uint32_t i = 0; i < n->n_kids; i++) {
		rnode_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	if (n->star) {
		rnode_free(n->star);
		free(n->star);
	}
	if (n->glob) {
		rnode_free(n->glob);
		free(n->glob);
	}
	free(n->tok);
	free(n->pattern);
}

struct route_rules *route_rules_new(enum route_dist default_dist)
{
	struct route_rules *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->root.kind = RNODE_ROOT;
	r->default_dist = default_dist;
	return r;
}

void route_rules_free(struct route_rules *r)
{
	if (!r)
		return;
	rnode_free(&r->root);
	free(r);
}

enum route_dist route_rules_default(const struct route_rules *r)
{
	return r->default_dist;
}

struct ptok {
	const uint8_t *p;
	size_t len;
};

static bool ptok_is(const struct ptok *t, char c)
{
	return t->len == 1 && t->p[0] == (uint8_t)c;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int route_rules_add(struct route_rules *r, const char *text, bool is_pattern, enum route_dist dist,
		    char *err, size_t errlen)
{
	const char *what = is_pattern ? "pattern" : "prefix";
	if (!text || !*text) {
		return fail(err, errlen, "%s must be a non-empty string", what);
	}
	/* Strip leading and trailing separators (validate_pattern_CT). */
	const uint8_t *s = (const uint8_t *)text;
	size_t len = strlen(text);
	while (len && is_sep(*s)) {
		s++;
		len--;
	}
	while (len && is_sep(s[len - 1]))
		len--;
	if (len == 0)
		return fail(err, errlen, "%s invalid - no tokens", what);

	/* Tokenize; a prefix gets a trailing '#' ("P/#"). */
	struct ptok toks[ROUTE_RULES_MAX_TOKENS + 1];
	size_t nt = 0;
	struct tok_cursor c;
	cursor_init(&c, s, len);
	while (!cursor_done(&c)) {
		if (nt == ROUTE_RULES_MAX_TOKENS)
			return fail(err, errlen, "%s has too many tokens (max 255)", what);
		toks[nt].p = s + c.begin;
		toks[nt].len = c.end - c.begin;
		nt++;
		cursor_next(&c);
	}
	static const uint8_t glob_byte = '#';
	if (!is_pattern) {
		if (nt == ROUTE_RULES_MAX_TOKENS)
			return fail(err, errlen, "%s has too many tokens (max 255)", what);
		toks[nt].p = &glob_byte;
		toks[nt].len = 1;
		nt++;
	}

	/* normalize_pattern: "#.#" -> "#", "#.*" -> "*.#", to a fixed point. */
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i + 1 < nt; i++) {
			if (!ptok_is(&toks[i], '#'))
				continue;
			if (ptok_is(&toks[i + 1], '#')) {
				memmove(&toks[i + 1], &toks[i + 2], (nt - i - 2) * sizeof(toks[0]));
				nt--;
				changed = true;
			} else if (ptok_is(&toks[i + 1], '*')) {
				struct ptok t = toks[i];
				toks[i] = toks[i + 1];
				toks[i + 1] = t;
				changed = true;
			}
		}
	}

	/* The normalized text, '/' between tokens (for reports and errors). */
	size_t plen = 0;
	for (size_t i = 0; i < nt; i++)
		plen += toks[i].len + 1;
	char *pattern = malloc(plen + 1);
	if (!pattern)
		return fail(err, errlen, "out of memory adding %s", what);
	size_t o = 0;
	for (size_t i = 0; i < nt; i++) {
		if (i)
			pattern[o++] = '/';
		memcpy(pattern + o, toks[i].p, toks[i].len);
		o += toks[i].len;
	}
	pattern[o] = 0;

	/* Count the '#' nodes this pattern would add, before changing the tree. */
	uint32_t new_globs = 0;
	{
		const struct rnode *n = &r->root;
		for (size_t i = 0; i < nt; i++) {
			const struct rnode *next = NULL;
			if (n) {
				if (ptok_is(&toks[i], '*'))
					next = n->star;
				else if (ptok_is(&toks[i], '#'))
					next = n->glob;
				else
					next = kid_find(n, toks[i].p, toks[i].len, NULL);
			}
			if (!next && ptok_is(&toks[i], '#'))
				new_globs++;
			n = next;
		}
		if (n && n->terminal) {
			int rc = fail(err, errlen, "duplicate pattern '%s'", pattern);
			free(pattern);
			return rc;
		}
	}
	if (r->n_globs + new_globs > ROUTE_RULES_MAX_GLOBS) {
		int rc = fail(err, errlen,
			      "too many '#' wildcards in address rules (max 128) at '%s'", pattern);
		free(pattern);
		return rc;
	}

	struct rnode *n = &r->root;
	for (size_t i = 0; i < nt; i++) {
		struct rnode **slot;
		struct rnode *next;
		uint32_t pos = 0;
		bool star = ptok_is(&toks[i], '*'), glob = ptok_is(&toks[i], '#');
		if (star || glob) {
			slot = star ? &n->star : &n->glob;
			next = *slot;
		} else {
			next = kid_find(n, toks[i].p, toks[i].len, &pos);
			slot = NULL;
		}
		if (next) {
			n = next;
			continue;
		}
		/* Nodes added so far stay (empty, harmless) if this fails. */
		next = calloc(1, sizeof(*next));
		if (!next)
			goto oom;
		if (star || glob) {
			next->kind = star ? RNODE_STAR : RNODE_GLOB;
			if (glob)
				next->glob_id = r->n_globs++;
			*slot = next;
		} else {
			next->kind = RNODE_TOKEN;
			next->tok_len = toks[i].len;
			next->tok = malloc(toks[i].len ? toks[i].len : 1);
			if (!next->tok) {
				free(next);
				goto oom;
			}
			if (toks[i].len)
				memcpy(next->tok, toks[i].p, toks[i].len);
			if (n->n_kids == n->cap_kids) {
				uint32_t cap = n->cap_kids ? n->cap_kids * 2 : 4;
				struct rnode **k = realloc(n->kids, cap * sizeof(*k));
				if (!k) {
					free(next->tok);
					free(next);
					goto oom;
				}
				n->kids = k;
				n->cap_kids = cap;
			}
			memmove(&n->kids[pos + 1], &n->kids[pos],
				(n->n_kids - pos) * sizeof(n->kids[0]));
			n->kids[pos] = next;
			n->n_kids++;
		}
		n = next;
	}
	n->terminal = true;
	n->dist = dist;
	n->pattern = pattern;
	r->n_rules++;
	return 0;
oom:
	free(pattern);
	return fail(err, errlen, "out of memory adding %s", what);
}

/* ---- search (parse_tree.c parse_node_find and friends) ----------------- */

struct search {
	size_t *glob_failed; /* per '#' node: lowest token position already failed */
};

static const struct rnode *find_children(struct search *s, const struct rnode *n,
					 const struct tok_cursor *v);

/* A literal node reached with the tokens after its own (find_token). */
static const struct rnode *find_token(struct search *s, const struct rnode *n,
				      const struct tok_cursor *v)
{
	if (cursor_done(v) && n->terminal)
		return n;
	return find_children(s, n, v);
}

/* '*': exactly one token (match_1). */
static const struct rnode *find_star(struct search *s, const struct rnode *n,
				     const struct tok_cursor *v)
{
	if (cursor_done(v))
		return NULL;
	struct tok_cursor t = *v;
	cursor_next(&t);
	if (cursor_done(&t) && n->terminal)
		return n;
	return find_children(s, n, &t);
}

/* '#': children after 0, 1, ... tokens, then its own terminal (match_glob).
 * Entering at position p explores every position >= p, and the search stops
 * at the first match, so a failed entry at p means every later entry at
 * p' >= p fails too: skip it (same first match). Entries into one '#' node
 * come in non-decreasing positions (its nearest '#' ancestor loops upward
 * and the path between consumes a fixed number of tokens), so each '#' node
 * runs its loop at most once per search. A '#' with a terminal never fails. */
static const struct rnode *find_glob(struct search *s, const struct rnode *n,
				     const struct tok_cursor *v)
{
	size_t *failed = &s->glob_failed[n->glob_id];
	if (v->begin >= *failed)
		return NULL; /* a failed '#' has no terminal: see below */
	struct tok_cursor t = *v;
	while (!cursor_done(&t) && t.begin < *failed) {
		const struct rnode *m = find_children(s, n, &t);
		if (m)
			return m;
		cursor_next(&t);
	}
	if (n->terminal)
		return n;
	*failed = v->begin;
	return NULL;
}

static const struct rnode *find_children(struct search *s, const struct rnode *n,
					 const struct tok_cursor *v)
{
	if (!cursor_done(v)) {
		if (n->n_kids) {
			const struct rnode *k =
			    kid_find(n, v->s + v->begin, v->end - v->begin, NULL);
			if (k) {
				struct tok_cursor t = *v;
				cursor_next(&t);
				const struct rnode *m = find_token(s, k, &t);
				if (m)
					return m;
			}
		}
		if (n->star) {
			const struct rnode *m = find_star(s, n->star, v);
			if (m)
				return m;
		}
	}
	if (n->glob)
		return find_glob(s, n->glob, v);
	return NULL;
}

enum route_dist route_rules_match_rule(const struct route_rules *r, const uint8_t *addr, size_t len,
				       const char **pattern)
{
	size_t failed[ROUTE_RULES_MAX_GLOBS];
	for (uint32_t i = 0; i < r->n_globs; i++)
		failed[i] = SIZE_MAX;
	struct search s = {.glob_failed = failed};
	size_t klen;
	const uint8_t *key = route_addr_key(addr, len, &klen);
	struct tok_cursor c;
	cursor_init(&c, key, klen);
	const struct rnode *m = r->n_rules ? find_children(&s, &r->root, &c) : NULL;
	if (pattern)
		*pattern = m ? m->pattern : NULL;
	return m ? m->dist : r->default_dist;
}

enum route_dist route_rules_match(const struct route_rules *r, const uint8_t *addr, size_t len)
{
	return route_rules_match_rule(r, addr, len, NULL);
}

const char *route_dist_name(enum route_dist d)
{
	switch (d) {
	case ROUTE_CLOSEST: return "closest";
	case ROUTE_BALANCED: return "balanced";
	case ROUTE_MULTICAST: return "multicast";
	case ROUTE_UNAVAILABLE: return "unavailable";
	}
	return "?";
}

int route_dist_parse(const char *name, enum route_dist *out)
{
	static const enum route_dist all[] = {ROUTE_CLOSEST, ROUTE_BALANCED, ROUTE_MULTICAST,
					      ROUTE_UNAVAILABLE};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (name && strcmp(name, route_dist_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}
