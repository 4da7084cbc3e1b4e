/* rpcrouterd's log, as qdrouterd's: per-module levels from the `log`
 * sections of the configuration (module DEFAULT for every module without a
 * section of its own), written to stderr, stdout, syslog or a file.
 *
 * Line format (qdrouterd's log.c):
 *     2026-12-01 07:33:21.123456 +0000 SERVER (info) Accepted connection
 * the timestamp (local time, or UTC with router timestampsInUTC) only when
 * includeTimestamp is on, and " (file.c:42)" after the text only with
 * includeSource and a caller that gives its source (ctl_log_at, CTL_LOG).
 * Syslog gets the line without the timestamp, at the matching priority.
 *
 * Control thread only: workers never log (the fast path counts instead).
 * Until ctl_log_configure succeeds, and after ctl_log_close, every module
 * logs info and above to stderr with timestamps (qdrouterd's default). */
#ifndef CTL_LOG_H
#define CTL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ctl_config.h"
#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Take the log sections of cfg (cfg->logs, router.timestamps_in_utc):
 * opens every output file (append, created 0640) before changing anything,
 * so on failure (RR_E_IO, "log: outputFile PATH: cannot open: ..." in err)
 * the previous set-up stays. cfg may be freed afterwards: what is needed is
 * copied. */
enum rr_err ctl_log_configure(const struct ctl_config *cfg, char *err, size_t err_size);

/* Whether `module` (e.g. "SERVER") logs at `level`. */
bool ctl_log_enabled(const char *module, enum ctl_log_level level);

/* Log one line (a trailing newline in fmt is dropped; the text is cut at
 * 4 KiB). */
void ctl_log(const char *module, enum ctl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same, with the caller's source for includeSource. */
void ctl_log_at(const char *file, int line, const char *module, enum ctl_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define CTL_LOG(module, level, ...) ctl_log_at(__FILE__, __LINE__, (module), (level), __VA_ARGS__)

/* Reopen every output file (after logrotate moved it: call from the control
 * loop after SIGHUP, not from the signal handler). A file that cannot be
 * reopened keeps its old descriptor, and the failure is logged. */
void ctl_log_reopen(void);

/* Close every output; back to the default (stderr). */
void ctl_log_close(void);

/* One line as ctl_log writes it, without the newline, into buf (cut to
 * size); returns the length it would have had. ts NULL: no timestamp.
 * src_file NULL: no source. Pure, any thread: for tests and callers that
 * write elsewhere. */
size_t ctl_log_format(char *buf, size_t size, const struct timespec *ts, bool utc,
		      const char *module, enum ctl_log_level level, const char *text,
		      const char *src_file, int src_line);

#ifdef __cplusplus
}
#endif
#endif
