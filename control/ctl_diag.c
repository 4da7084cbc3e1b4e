#include "ctl_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
	if (n < 0)
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
