#include "ctl_conf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Values of these keys are their first word and may contain '#'
 * (qdrouterd 1.19 config.py "special snowflakes"). */
static const char *const first_word_keys[] = {"pattern", "bindingKey", "hostname", NULL};

struct parser {
	struct ctl_conf *conf;
	struct ctl_diag *diag;
	const char *file;
	unsigned line;
	bool nomem;
	struct ctl_conf_section *section; /* open section, or NULL */
	const char *pending_name;	  /* "NAME" alone on the line before, or NULL */
	size_t pending_len;
	/* An open { } block value: */
	struct ctl_conf_attr *block; /* the attribute it belongs to, or NULL */
	unsigned block_depth;
	char *block_text;
	size_t block_len;
};

#define syntax_error(p, line, ...)                                                                 \
	ctl_diag_add((p)->diag, CTL_DIAG_ERROR, RR_E_CONFIG_SYNTAX, (p)->file, (line), __VA_ARGS__)

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Trim [*s, *e) of blanks at both ends. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* [s, e) as a string. Exactly those bytes are read: strndup() scans for a
 * NUL up to its bound, and the text is not NUL-terminated (fuzz_config
 * hands it over in an exact-size block). */
static char *dup_range(struct parser *p, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);
	char *r = malloc(n + 1);
	if (!r) {
		p->nomem = true;
		return NULL;
	}
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* Print-safe excerpt of what was found, for messages. */
static void excerpt(char *buf, size_t size, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);
	size_t max = size - 4;
	size_t i, o = 0;
	for (i = 0; i < n && o < max; i++)
		buf[o++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (i < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

char *ctl_conf_normalize_name(const char *name, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	bool first_word = true, word_start = false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '-' || c == '_' || c == '.' || c == ' ') {
			first_word = false;
			word_start = true;
			continue;
		}
		if (first_word)
			out[o++] = c;
		else if (word_start)
			out[o++] = (char)toupper((unsigned char)c);
		else
			out[o++] = (char)tolower((unsigned char)c);
		word_start = false;
	}
	out[o] = '\0';
	return out;
}

static struct ctl_conf_section *add_section(struct parser *p, const char *s, const char *e)
{
	struct ctl_conf *c = p->conf;
	if (c->n_sections == c->cap_sections) {
		size_t cap = c->cap_sections ? c->cap_sections * 2 : 16;
		struct ctl_conf_section *v = realloc(c->sections, cap * sizeof(*v));
		if (!v) {
			p->nomem = true;
			return NULL;
		}
		c->sections = v;
		c->cap_sections = cap;
	}
	struct ctl_conf_section *sec = &c->sections[c->n_sections];
	memset(sec, 0, sizeof(*sec));
	sec->raw_name = dup_range(p, s, e);
	sec->name = ctl_conf_normalize_name(s, (size_t)(e - s));
	sec->line = p->line;
	if (!sec->raw_name || !sec->name) {
		free(sec->raw_name);
		free(sec->name);
		p->nomem = true;
		return NULL;
	}
	c->n_sections++;
	return sec;
}

static struct ctl_conf_attr *add_attr(struct parser *p, const char *ks, const char *ke)
{
	struct ctl_conf_section *sec = p->section;
	if (sec->n_attrs == sec->cap_attrs) {
		size_t cap = sec->cap_attrs ? sec->cap_attrs * 2 : 8;
		struct ctl_conf_attr *v = realloc(sec->attrs, cap * sizeof(*v));
		if (!v) {
			p->nomem = true;
			return NULL;
		}
		sec->attrs = v;
		sec->cap_attrs = cap;
	}
	struct ctl_conf_attr *a = &sec->attrs[sec->n_attrs];
	memset(a, 0, sizeof(*a));
	a->raw_key = dup_range(p, ks, ke);
	a->key = ctl_conf_normalize_name(ks, (size_t)(ke - ks));
	a->line = p->line;
	if (!a->raw_key || !a->key) {
		free(a->raw_key);
		free(a->key);
		p->nomem = true;
		return NULL;
	}
	sec->n_attrs++;
	return a;
}

/* Append [s, e) plus a newline to the open block's text. */
static void block_append(struct parser *p, const char *s, const char *e, bool newline)
{
	size_t n = (size_t)(e - s);
	char *t = realloc(p->block_text, p->block_len + n + 2);
	if (!t) {
		p->nomem = true;
		return;
	}
	memcpy(t + p->block_len, s, n);
	p->block_len += n;
	if (newline)
		t[p->block_len++] = '\n';
	t[p->block_len] = '\0';
	p->block_text = t;
}

static void block_end(struct parser *p)
{
	if (p->block) {
		p->block->value = p->block_text;
		p->block->block = true;
	} else {
		free(p->block_text);
	}
	p->block = NULL;
	p->block_text = NULL;
	p->block_len = 0;
	p->block_depth = 0;
}

/* Feed [s, e) of a line to the open block: count braces outside strings.
 * Returns true when the block closed on this line. */
static bool block_feed(struct parser *p, const char *s, const char *e)
{
	bool in_string = false, escape = false;
	for (const char *c = s; c < e; c++) {
		if (in_string) {
			if (escape)
				escape = false;
			else if (*c == '\\')
				escape = true;
			else if (*c == '"')
				in_string = false;
			continue;
		}
		if (*c == '"') {
			in_string = true;
		} else if (*c == '{') {
			p->block_depth++;
		} else if (*c == '}' && --p->block_depth == 0) {
			block_append(p, s, c + 1, false);
			const char *rest = c + 1, *end = e;
			trim(&rest, &end);
			if (rest < end && *rest != '#') {
				char buf[64];
				excerpt(buf, sizeof(buf), rest, end);
				syntax_error(p, p->line,
					     "unexpected '%s' after the '}' closing '%s'", buf,
					     p->block ? p->block->raw_key : "?");
			}
			block_end(p);
			return true;
		}
	}
	block_append(p, s, e, true);
	return false;
}

/* Parse a quoted value starting at *s (a quote) into a malloc'd string;
 * on return *s points past the closing quote. NULL on error (reported). */
static char *parse_quoted(struct parser *p, const char **s, const char *e)
{
	char q = **s;
	char *out = malloc((size_t)(e - *s) + 1);
	if (!out) {
		p->nomem = true;
		return NULL;
	}
	size_t o = 0;
	for (const char *c = *s + 1; c < e; c++) {
		if (*c == q) {
			out[o] = '\0';
			*s = c + 1;
			return out;
		}
		if (*c == '\\' && q == '"') {
			if (++c == e)
				break;
			switch (*c) {
			case '"': out[o++] = '"'; break;
			case '\\': out[o++] = '\\'; break;
			case '/': out[o++] = '/'; break;
			case 'n': out[o++] = '\n'; break;
			case 't': out[o++] = '\t'; break;
			case 'r': out[o++] = '\r'; break;
			default:
				syntax_error(p, p->line,
					     "unknown escape '\\%c' in a quoted value "
					     "(known: \\\" \\\\ \\/ \\n \\t \\r)",
					     isprint((unsigned char)*c) ? *c : '?');
				free(out);
				return NULL;
			}
			continue;
		}
		out[o++] = *c;
	}
	syntax_error(p, p->line, "quoted value has no closing %c", q);
	free(out);
	return NULL;
}

/* Position of the first '#' in [s, e), or e. */
static const char *comment_start(const char *s, const char *e)
{
	const char *c = memchr(s, '#', (size_t)(e - s));
	return c ? c : e;
}

static bool is_first_word_key(const char *s, const char *e)
{
	for (unsigned i = 0; first_word_keys[i]; i++) {
		size_t n = strlen(first_word_keys[i]);
		if ((size_t)(e - s) == n && memcmp(s, first_word_keys[i], n) == 0)
			return true;
	}
	return false;
}

/* "KEY: VALUE" in the open section; [vs, ve) is what follows the ':'. */
static void parse_attr(struct parser *p, const char *ks, const char *ke, const char *vs,
		       const char *ve)
{
	char key[64];
	excerpt(key, sizeof(key), ks, ke);
	if (!p->section) {
		syntax_error(p, p->line,
			     "'%s: ...' outside a section: attributes go between "
			     "'NAME {' and '}'",
			     key);
		return;
	}
	while (vs < ve && is_space(*vs))
		vs++;
	if (is_first_word_key(ks, ke) && vs < ve && *vs != '{' && *vs != '"' && *vs != '\'') {
		/* Its first word, '#' and all; qdrouterd ignores what follows. */
		const char *we = vs;
		while (we < ve && !is_space(*we))
			we++;
		struct ctl_conf_attr *a = add_attr(p, ks, ke);
		if (a)
			a->value = dup_range(p, vs, we);
		return;
	}
	if (vs < ve && (*vs == '"' || *vs == '\'')) {
		const char *q = vs;
		char *v = parse_quoted(p, &q, ve);
		if (!v)
			return;
		while (q < ve && is_space(*q))
			q++;
		if (q < ve && *q != '#') {
			char buf[64];
			excerpt(buf, sizeof(buf), q, comment_start(q, ve));
			syntax_error(p, p->line, "unexpected '%s' after the quoted value of '%s'",
				     buf, key);
			free(v);
			return;
		}
		struct ctl_conf_attr *a = add_attr(p, ks, ke);
		if (!a) {
			free(v);
			return;
		}
		a->value = v;
		a->quoted = true;
		return;
	}
	ve = comment_start(vs, ve);
	trim(&vs, &ve);
	if (vs == ve) {
		syntax_error(p, p->line, "'%s' has no value", key);
		return;
	}
	if (*vs == '{') {
		struct ctl_conf_attr *a = add_attr(p, ks, ke);
		if (!a)
			return;
		p->block = a;
		p->block_depth = 0;
		block_feed(p, vs, ve);
		return;
	}
	struct ctl_conf_attr *a = add_attr(p, ks, ke);
	if (a)
		a->value = dup_range(p, vs, ve);
}

static void parse_line(struct parser *p, const char *s, const char *e)
{
	trim(&s, &e);
	if (p->block) {
		if (s < e && *s != '#')
			block_feed(p, s, e);
		return;
	}
	if (s == e || *s == '#')
		return;
	const char *pending = p->pending_name;
	p->pending_name = NULL;

	const char *we = s;
	while (we < e && is_word(*we))
		we++;
	const char *r = we;
	while (r < e && is_space(*r))
		r++;

	if (we > s && r < e && *r == ':') {
		parse_attr(p, s, we, r + 1, e);
		return;
	}

	/* Everything else ends at a comment. */
	e = comment_start(s, e);
	trim(&s, &e);
	char found[64];
	excerpt(found, sizeof(found), s, e);

	if (we > s && r < e && *r == '{') {
		const char *rest = r + 1;
		trim(&rest, &e);
		if (rest != e) {
			/* Reported; the section is still opened so that its '}' matches. */
			syntax_error(p, p->line,
				     "unexpected text after '%.*s {': put each "
				     "attribute on a line of its own",
				     (int)(we - s), s);
		}
		if (p->section) {
			syntax_error(p, p->line,
				     "section '%s' (line %u) is not closed before "
				     "'%.*s {': missing '}'",
				     p->section->raw_name, p->section->line, (int)(we - s), s);
		}
		p->section = add_section(p, s, we);
		return;
	}
	if (*s == '}') {
		if (e - s != 1) {
			syntax_error(p, p->line, "unexpected '%s': '}' goes on a line of its own",
				     found);
		}
		if (!p->section)
			syntax_error(p, p->line, "'}' without an open section");
		p->section = NULL;
		return;
	}
	if (we == e && p->section == NULL) {
		syntax_error(p, p->line,
			     "expected '%s {' ('{' on the same line as the section "
			     "name)",
			     found);
		p->pending_name = s;
		p->pending_len = (size_t)(we - s);
		return;
	}
	if (e - s == 1 && *s == '{' && pending && !p->section) {
		/* The '{' of the name reported on the line before: open it. */
		p->section = add_section(p, pending, pending + p->pending_len);
		return;
	}
	syntax_error(p, p->line, "expected 'NAME {', 'KEY: VALUE' or '}', found '%s'", found);
}

enum rr_err ctl_conf_parse(struct ctl_conf *conf, const char *file, const char *text, size_t len,
			   struct ctl_diag *diag)
{
	struct parser p = {.conf = conf, .diag = diag, .file = file};
	size_t errors_before = diag->n_errors;
	const char *s = text, *end = text + len;

	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len);
		unsigned line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		syntax_error(&p, line, "NUL byte: not a text file");
		return RR_E_CONFIG_SYNTAX;
	}
	while (s < end && !p.nomem) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		p.line++;
		parse_line(&p, s, le);
		s = nl ? nl + 1 : end;
	}
	if (p.nomem) {
		block_end(&p);
		return RR_E_NOMEM;
	}
	if (p.block) {
		syntax_error(&p, p.block->line, "block of '%s' is not closed: missing '}'",
			     p.block->raw_key);
		block_end(&p);
	} else if (p.section) {
		syntax_error(&p, p.section->line, "section '%s' is not closed: missing '}'",
			     p.section->raw_name);
	}
	return diag->n_errors > errors_before ? RR_E_CONFIG_SYNTAX : RR_OK;
}

void ctl_conf_free(struct ctl_conf *conf)
{
	for (size_t i = 0; i < conf->n_sections; i++) {
		struct ctl_conf_section *sec = &conf->sections[i];
		for (size_t j = 0; j < sec->n_attrs; j++) {
			free(sec->attrs[j].key);
			free(sec->attrs[j].raw_key);
			free(sec->attrs[j].value);
		}
		free(sec->attrs);
		free(sec->name);
		free(sec->raw_name);
	}
	free(conf->sections);
	memset(conf, 0, sizeof(*conf));
}
