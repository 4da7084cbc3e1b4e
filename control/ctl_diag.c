#include "ctl_diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* text with every control byte written as \xNN: a value echoed in a
 * message (a quoted "a\nb") must not print as a second line that reads
 * like another FILE:LINE entry. text itself when there is none, else a
 * new string (text freed); NULL when out of memory. */
static char *escape_controls(char *text)
{
	size_t n = 0, len = 0;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++, len++)
		n += *c < 0x20 || *c == 0x7f;
	if (n == 0)
		return text;
	char *out = malloc(len + 3 * n + 1);
	if (out != NULL) {
		char *o = out;
		for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
			if (*c < 0x20 || *c == 0x7f)
				o += sprintf(o, "\\x%02x", *c);
			else
				*o++ = (char)*c;
		}
		*o = '\0';
	}
	free(text);
	return out;
}

void ctl_diag_add(struct ctl_diag *d, enum ctl_diag_level level, enum rr_err code, const char *file,
		  unsigned line, const char *fmt, ...)
{
	if (level == CTL_DIAG_ERROR) {
		d->n_errors++;
		if (d->first_error == RR_OK)
			d->first_error = code;
	} else {
		d->n_warnings++;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct ctl_diag_entry *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0 || (text = escape_controls(text)) == NULL)
		return;
	d->v[d->n++] = (struct ctl_diag_entry){
	    .level = level, .code = code, .file = file, .line = line, .text = text};
}

const char *ctl_diag_format(const struct ctl_diag_entry *e, char *buf, size_t size)
{
	const char *level = e->level == CTL_DIAG_ERROR ? "error" : "warning";
	if (e->line)
		snprintf(buf, size, "%s:%u: %s: %s", e->file, e->line, level, e->text);
	else
		snprintf(buf, size, "%s: %s: %s", e->file, level, e->text);
	return buf;
}

void ctl_diag_print(const struct ctl_diag *d, FILE *out)
{
	/* straight to out, not through a fixed buffer: a long path or value
	 * in a message would cut it */
	for (size_t i = 0; i < d->n; i++) {
		const struct ctl_diag_entry *e = &d->v[i];
		const char *level = e->level == CTL_DIAG_ERROR ? "error" : "warning";
		if (e->line)
			fprintf(out, "%s:%u: %s: %s\n", e->file, e->line, level, e->text);
		else
			fprintf(out, "%s: %s: %s\n", e->file, level, e->text);
	}
}

void ctl_diag_free(struct ctl_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	memset(d, 0, sizeof(*d));
}
