#include "ctl_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct ctl_entity_def *ctl_schema_find_entity(const char *name)
{
	for (unsigned i = 0; i < CTL_ENT_COUNT; i++) {
		if (strcmp(ctl_schema_entities[i].name, name) == 0)
			return &ctl_schema_entities[i];
	}
	return NULL;
}

int ctl_schema_find_attr(const struct ctl_entity_def *e, const char *name,
			 bool *deprecated_spelling)
{
	for (unsigned i = 0; i < e->n_attrs; i++) {
		if (strcmp(e->attrs[i].name, name) == 0) {
			if (deprecated_spelling)
				*deprecated_spelling = false;
			return (int)i;
		}
	}
	for (unsigned i = 0; i < e->n_attrs; i++) {
		const char *old = e->attrs[i].deprecated_name;
		if (old && strcmp(old, name) == 0) {
			if (deprecated_spelling)
				*deprecated_spelling = true;
			return (int)i;
		}
	}
	return -1;
}

enum rr_err ctl_value_integer(const char *text, int64_t *out)
{
	const char *p = text;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return RR_E_CONFIG_VALUE;
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9')
			return RR_E_CONFIG_VALUE;
	}
	errno = 0;
	char *end;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return RR_E_CONFIG_VALUE;
	*out = (int64_t)v;
	return RR_OK;
}

enum rr_err ctl_value_boolean(const char *text, bool *out)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
	    {"yes", true}, {"true", true},   {"on", true},
	    {"no", false}, {"false", false}, {"off", false},
	};
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(text, words[i].word) == 0) {
			*out = words[i].value;
			return RR_OK;
		}
	}
	return RR_E_CONFIG_VALUE;
}

enum rr_err ctl_value_enum(const struct ctl_attr_def *a, const char *text, const char **out)
{
	if (a->type != CTL_T_ENUM || !a->tags)
		return RR_E_CONFIG_VALUE;
	unsigned n = 0;
	for (; a->tags[n]; n++) {
		if (strcmp(a->tags[n], text) == 0) {
			*out = a->tags[n];
			return RR_OK;
		}
	}
	/* qdrouterd also takes a tag's index (schema.py EnumType). */
	int64_t i;
	if (ctl_value_integer(text, &i) == RR_OK && i >= 0 && i < (int64_t)n) {
		*out = a->tags[i];
		return RR_OK;
	}
	return RR_E_CONFIG_VALUE;
}

const char *ctl_attr_tags_text(const struct ctl_attr_def *a, char *buf, unsigned size)
{
	unsigned used = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned i = 0; a->tags && a->tags[i]; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", a->tags[i]);
		if (n < 0 || (unsigned)n >= size - used) {
			buf[used] = '\0'; /* whole tags only */
			break;
		}
		used += (unsigned)n;
	}
	return buf;
}
