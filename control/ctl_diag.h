/* Diagnostics of the configuration loader: warnings and errors, each with
 * the file and line it is about, kept in order so that callers (rpcrouterd,
 * the unit tests, later $management) print or inspect them.
 *
 * Printed form: "FILE:LINE: error: TEXT" or "FILE:LINE: warning: TEXT"
 * ("FILE: error: TEXT" when no line applies). Owned by one thread (control). */
#ifndef CTL_DIAG_H
#define CTL_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ctl_diag_level {
	CTL_DIAG_WARNING,
	CTL_DIAG_ERROR,
};

struct ctl_diag_entry {
	enum ctl_diag_level level;
	enum rr_err code; /* RR_E_CONFIG_* for errors, RR_OK for warnings */
	const char *file; /* borrowed: lives as long as the ctl_diag's owner */
	unsigned line;	  /* 1-based; 0 when the message is about the whole file */
	char *text;	  /* owned */
};

struct ctl_diag {
	struct ctl_diag_entry *v; /* owned array of n entries */
	size_t n, cap;
	size_t n_errors, n_warnings;
	enum rr_err first_error; /* RR_OK until an error is added */
};

/* Add a message. `file` must outlive `d`. Out of memory: the message is
 * dropped but still counted (an error still fails the load). */
void ctl_diag_add(struct ctl_diag *d, enum ctl_diag_level level, enum rr_err code, const char *file,
		  unsigned line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "FILE:LINE: error: TEXT" into buf (truncated to size); returns buf. */
const char *ctl_diag_format(const struct ctl_diag_entry *e, char *buf, size_t size);

/* Print every message, one a line, to `out`. */
void ctl_diag_print(const struct ctl_diag *d, FILE *out);

void ctl_diag_free(struct ctl_diag *d);

#ifdef __cplusplus
}
#endif
#endif
