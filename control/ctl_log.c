#include "ctl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define LOG_TEXT_MAX 4096u
#define LOG_LINE_MAX (LOG_TEXT_MAX + 512u)

enum sink_kind {
	SINK_STDERR,
	SINK_STDOUT,
	SINK_SYSLOG,
	SINK_FILE,
};

struct log_sink {
	enum sink_kind kind;
	char *path; /* owned; SINK_FILE only */
	FILE *f;    /* owned; SINK_FILE only */
};

struct log_module {
	char *module; /* owned */
	unsigned levels;
	bool timestamp, source;
	size_t sink; /* index into log_state.sinks */
};

/* The whole set-up; control thread only, so no lock. Zeroed: not
 * configured (qdrouterd's default applies). */
struct log_state {
	bool configured;
	bool utc;
	struct log_sink *sinks; /* owned */
	size_t n_sinks;
	struct log_module *mods; /* owned; DEFAULT is def */
	size_t n_mods;
	struct log_module def;
};

static struct log_state state;
static bool syslog_opened; /* openlog done; closed by ctl_log_close only */

static const struct log_sink stderr_sink = {SINK_STDERR, NULL, NULL};

/* --- formatting ------------------------------------------------------------------ */

/* snprintf that keeps counting past the end of buf. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = *len < size ? size - *len : 0;
	int n = vsnprintf(room ? buf + *len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

size_t ctl_log_format(char *buf, size_t size, const struct timespec *ts, bool utc,
		      const char *module, enum ctl_log_level level, const char *text,
		      const char *src_file, int src_line)
{
	size_t len = 0;
	if (size)
		buf[0] = '\0';
	if (ts) {
		struct tm tm;
		time_t secs = ts->tv_sec;
		char date[64] = "", zone[16] = "";
		if (utc ? gmtime_r(&secs, &tm) != NULL : localtime_r(&secs, &tm) != NULL) {
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
			strftime(zone, sizeof(zone), "%z", &tm);
		}
		append(buf, size, &len, "%s.%06ld %s ", date, (long)(ts->tv_nsec / 1000), zone);
	}
	append(buf, size, &len, "%s (%s) %s", module, ctl_log_level_name(level), text);
	if (src_file)
		append(buf, size, &len, " (%s:%d)", src_file, src_line);
	return len;
}

/* --- set-up ------------------------------------------------------------------------ */

static void free_state(struct log_state *s)
{
	for (size_t i = 0; i < s->n_sinks; i++) {
		if (s->sinks[i].f)
			fclose(s->sinks[i].f);
		free(s->sinks[i].path);
	}
	free(s->sinks);
	for (size_t i = 0; i < s->n_mods; i++)
		free(s->mods[i].module);
	free(s->mods);
	free(s->def.module);
	memset(s, 0, sizeof(*s));
}

static FILE *open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "a");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0); /* whole lines reach the file as they are logged */
	return f;
}

/* Index of the sink for `output` in s, added (and opened) when new;
 * (size_t)-1 on failure, reported to err. */
static size_t find_sink(struct log_state *s, const char *output, char *err, size_t err_size)
{
	enum sink_kind kind = SINK_FILE;
	if (!output || strcmp(output, "stderr") == 0)
		kind = SINK_STDERR;
	else if (strcmp(output, "stdout") == 0)
		kind = SINK_STDOUT;
	else if (strcmp(output, "syslog") == 0)
		kind = SINK_SYSLOG;
	for (size_t i = 0; i < s->n_sinks; i++)
		if (s->sinks[i].kind == kind &&
		    (kind != SINK_FILE || strcmp(s->sinks[i].path, output) == 0))
			return i;
	struct log_sink *grown = realloc(s->sinks, (s->n_sinks + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, err_size, "log: out of memory");
		return (size_t)-1;
	}
	s->sinks = grown;
	struct log_sink k = {kind, NULL, NULL};
	if (kind == SINK_FILE) {
		k.path = strdup(output);
		k.f = k.path ? open_output(output) : NULL;
		if (!k.f) {
			snprintf(err, err_size, "log: outputFile %s: cannot open: %s", output,
				 k.path ? strerror(errno) : "out of memory");
			free(k.path);
			return (size_t)-1;
		}
	}
	if (kind == SINK_SYSLOG && !syslog_opened) {
		openlog("rpcrouterd", LOG_PID, LOG_DAEMON);
		syslog_opened = true;
	}
	s->sinks[s->n_sinks] = k;
	return s->n_sinks++;
}

static bool add_module(struct log_state *s, struct log_module *m, const struct ctl_log *l,
		       char *err, size_t err_size)
{
	m->module = strdup(l->module);
	m->levels = l->levels;
	m->timestamp = l->timestamp;
	m->source = l->source;
	m->sink = find_sink(s, l->output, err, err_size);
	if (!m->module && m->sink != (size_t)-1)
		snprintf(err, err_size, "log: out of memory");
	return m->module && m->sink != (size_t)-1;
}

enum rr_err ctl_log_configure(const struct ctl_config *cfg, char *err, size_t err_size)
{
	struct log_state s;
	memset(&s, 0, sizeof(s));
	if (err_size)
		err[0] = '\0';
	s.configured = true;
	s.utc = cfg->router.timestamps_in_utc;
	const struct ctl_log builtin = {.module = "DEFAULT",
					.levels = CTL_LOG_INFO_UP,
					.output = NULL,
					.timestamp = true,
					.source = false,
					.line = 0};
	const struct ctl_log *def = &builtin;
	for (size_t i = 0; i < cfg->n_logs; i++)
		if (strcmp(cfg->logs[i].module, "DEFAULT") == 0)
			def = &cfg->logs[i];
	bool ok = add_module(&s, &s.def, def, err, err_size);
	s.mods = calloc(cfg->n_logs ? cfg->n_logs : 1, sizeof(*s.mods));
	if (ok && !s.mods) {
		snprintf(err, err_size, "log: out of memory");
		ok = false;
	}
	for (size_t i = 0; ok && i < cfg->n_logs; i++) {
		if (strcmp(cfg->logs[i].module, "DEFAULT") == 0)
			continue;
		ok = add_module(&s, &s.mods[s.n_mods], &cfg->logs[i], err, err_size);
		if (ok || s.mods[s.n_mods].module)
			s.n_mods++; /* so that free_state frees it */
	}
	if (!ok) {
		free_state(&s);
		return RR_E_IO;
	}
	free_state(&state);
	state = s;
	return RR_OK;
}

void ctl_log_close(void)
{
	free_state(&state);
	if (syslog_opened)
		closelog();
	syslog_opened = false;
}

void ctl_log_reopen(void)
{
	for (size_t i = 0; i < state.n_sinks; i++) {
		struct log_sink *k = &state.sinks[i];
		if (k->kind != SINK_FILE)
			continue;
		FILE *f = open_output(k->path);
		if (!f) {
			int e = errno;
			ctl_log("DEFAULT", CTL_LEVEL_ERROR,
				"log: cannot reopen %s: %s (still writing "
				"to the old file)",
				k->path, strerror(e));
			continue;
		}
		fclose(k->f);
		k->f = f;
	}
}

/* --- logging ----------------------------------------------------------------------- */

static const struct log_module *module_of(const char *module)
{
	for (size_t i = 0; i < state.n_mods; i++)
		if (strcmp(state.mods[i].module, module) == 0)
			return &state.mods[i];
	return state.configured ? &state.def : NULL;
}

bool ctl_log_enabled(const char *module, enum ctl_log_level level)
{
	const struct log_module *m = module_of(module);
	unsigned levels = m ? m->levels : CTL_LOG_INFO_UP;
	return (unsigned)level < CTL_LEVEL_COUNT && (levels & (1u << level));
}

static int syslog_priority(enum ctl_log_level level)
{
	switch (level) {
	case CTL_LEVEL_TRACE:
	case CTL_LEVEL_DEBUG: return LOG_DEBUG;
	case CTL_LEVEL_INFO: return LOG_INFO;
	case CTL_LEVEL_NOTICE: return LOG_NOTICE;
	case CTL_LEVEL_WARNING: return LOG_WARNING;
	case CTL_LEVEL_ERROR: return LOG_ERR;
	case CTL_LEVEL_CRITICAL:
	case CTL_LEVEL_COUNT: break;
	}
	return LOG_CRIT;
}

static void log_v(const char *file, int line, const char *module, enum ctl_log_level level,
		  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void log_v(const char *file, int line, const char *module, enum ctl_log_level level,
		  const char *fmt, va_list ap)
{
	if (!ctl_log_enabled(module, level))
		return;
	const struct log_module *m = module_of(module);
	bool timestamp = m ? m->timestamp : true, source = m ? m->source : false;
	const struct log_sink *sink = m ? &state.sinks[m->sink] : &stderr_sink;

	char text[LOG_TEXT_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);
	size_t n = strlen(text);
	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	/* Text may carry what a peer sent (container-id, addresses): one
	 * message stays one line, and no control byte reaches a terminal. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';

	struct timespec now;
	bool with_ts =
	    timestamp && sink->kind != SINK_SYSLOG && clock_gettime(CLOCK_REALTIME, &now) == 0;
	char out[LOG_LINE_MAX];
	ctl_log_format(out, sizeof(out), with_ts ? &now : NULL, state.utc, module, level, text,
		       source ? file : NULL, line);
	switch (sink->kind) {
	case SINK_SYSLOG: syslog(syslog_priority(level), "%s", out); break;
	case SINK_STDOUT:
		fprintf(stdout, "%s\n", out);
		fflush(stdout);
		break;
	case SINK_STDERR: fprintf(stderr, "%s\n", out); break;
	case SINK_FILE: fprintf(sink->f, "%s\n", out); break;
	}
}

void ctl_log(const char *module, enum ctl_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(NULL, 0, module, level, fmt, ap);
	va_end(ap);
}

void ctl_log_at(const char *file, int line, const char *module, enum ctl_log_level level,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(file, line, module, level, fmt, ap);
	va_end(ap);
}
