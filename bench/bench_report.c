/*
 * bench_report: `rpcrouter-bench report` (see bench_report.h).
 *
 * Pipeline: load every line (strict JSON) into runs and n/a marks; per
 * scenario, rows = distinct parameter sets (the canonical key: sorted
 * name=value of params minus the addressing keys); cells = the runs of one
 * row and one target, shown as the median of their successful runs; then
 * the plots of the data present. Everything is sorted before it is
 * written, and nothing time-dependent of the renderer's own goes out.
 */
#include "bench_report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_json_read.h"
#include "bench_svg.h"

/* Keys of "params" that name where a target is reached, not how hard the
 * run worked it: compare.sh gives RabbitMQ /queue/... addresses and a
 * named reply queue for the same row as rpcrouterd's bench/... address. */
static const char *const rep_ignored_params[] = {
    "address",	"reply_to",	   "request_address",	 "url", "label", "sasl_mech", "user",
    "password", "anonymous_relay", "no_anonymous_relay",
};

/* Display order of the parameters (others follow, by name). */
static const char *const rep_param_order[] = {
    "body_size", "senders", "receivers", "links_per_conn", "connections", "credit", "presettled",
    "inflight",	 "rate",    "count",	 "duration_s",	   "threads",	  "cpus",
};

static const char *const rep_scenario_order[] = {
    "throughput", "rpc", "fanout", "connections", "handshake",
};

enum rep_fmt { REP_RATE, REP_MB, REP_US, REP_INT, REP_SEC };

enum rep_when {
	REP_ALWAYS,
	REP_LATENCY, /* results.latency_us.count > 0 */
	REP_ROUTER,  /* a "router" object */
	REP_OPEN,    /* params.rate > 0 */
};

#define REP_SC_FLOW "|throughput|rpc|fanout|"
#define REP_SC_CONN "|connections|handshake|"

struct rep_metric {
	const char *label, *path;
	enum rep_fmt fmt;
	enum rep_when when;
	const char *scenarios; /* "|a|b|"; NULL: every scenario */
};

static const struct rep_metric rep_metrics[] = {
    {"msg/s", "results.msg_per_s", REP_RATE, REP_ALWAYS, REP_SC_FLOW},
    {"MB/s", "results.mb_per_s", REP_MB, REP_ALWAYS, "|throughput|fanout|"},
    {"offered rate/s", "results.offered_rate", REP_RATE, REP_OPEN, "|rpc|"},
    {"p50 µs", "results.latency_us.p50", REP_US, REP_LATENCY, NULL},
    {"p99 µs", "results.latency_us.p99", REP_US, REP_LATENCY, NULL},
    {"p99.9 µs", "results.latency_us.p999", REP_US, REP_LATENCY, NULL},
    {"connections/s", "results.connections_per_s", REP_RATE, REP_ALWAYS, REP_SC_CONN},
    {"connect s", "results.connect_s", REP_SEC, REP_ALWAYS, "|connections|"},
    {"msg per router CPU-s", "router.msg_per_router_cpu_s", REP_RATE, REP_ROUTER, REP_SC_FLOW},
    {"router CPU-s", "router.cpu_s", REP_SEC, REP_ROUTER, REP_SC_CONN},
    {"router RSS/conn bytes", "router.rss_per_conn_bytes", REP_INT, REP_ROUTER, "|connections|"},
    {"lost", "results.lost", REP_INT, REP_ALWAYS, REP_SC_FLOW},
};
#define REP_NMETRICS (sizeof(rep_metrics) / sizeof(rep_metrics[0]))

struct rep_run {
	struct bench_json *j;
	const struct bench_json *params;
	const char *scenario, *target, *error;
	char *key;
	const char *file;
	size_t line, seq; /* seq: input order, the last tie-break */
};

struct rep_na {
	struct bench_json *j;
	const char *target, *scenario, *reason;
	const struct bench_json *params; /* NULL: every row */
};

struct rep {
	const char *md_path, *img_dir, *img_ref, *title;
	char **files;
	size_t nfiles;
	struct rep_run *runs;
	size_t nruns, runs_cap;
	struct rep_na *nas;
	size_t nnas, nas_cap;
	const char **targets;
	size_t ntargets;
	FILE *md;
	int status;
};

/* ---- small helpers ---- */

/* qsort with a NULL base is undefined even for 0 elements (C11 7.22.5). */
static void rep_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static bool rep_ignored(const char *name)
{
	for (size_t i = 0; i < sizeof(rep_ignored_params) / sizeof(rep_ignored_params[0]); i++)
		if (strcmp(name, rep_ignored_params[i]) == 0)
			return true;
	return false;
}

static int rep_rank(const char *name, const char *const *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, order[i]) == 0)
			return (int)i;
	return (int)n;
}

static int rep_param_rank(const char *name)
{
	return rep_rank(name, rep_param_order,
			sizeof(rep_param_order) / sizeof(rep_param_order[0]));
}

static int rep_target_rank(const char *t)
{
	/* The routers first, other labels next, the --direct ceiling last. */
	static const char *const order[] = {"rpcrouterd", "qdrouterd", "rabbitmq"};
	if (strcmp(t, "direct") == 0)
		return 4;
	int r = rep_rank(t, order, 3);
	return r;
}

static int rep_cmp_targets(const void *a, const void *b)
{
	const char *ta = *(const char *const *)a, *tb = *(const char *const *)b;
	int ra = rep_target_rank(ta), rb = rep_target_rank(tb);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(ta, tb);
}

static int rep_cmp_scenarios(const void *a, const void *b)
{
	const char *sa = *(const char *const *)a, *sb = *(const char *const *)b;
	size_t n = sizeof(rep_scenario_order) / sizeof(rep_scenario_order[0]);
	int ra = rep_rank(sa, rep_scenario_order, n), rb = rep_rank(sb, rep_scenario_order, n);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(sa, sb);
}

static int rep_cmp_params(const void *a, const void *b)
{
	const char *pa = *(const char *const *)a, *pb = *(const char *const *)b;
	int ra = rep_param_rank(pa), rb = rep_param_rank(pb);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(pa, pb);
}

static int rep_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool rep_in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Adds s to a set of borrowed strings; false only when out of memory. */
static bool rep_set_add(const char ***set, size_t *n, const char *s)
{
	if (rep_in_list(*set, *n, s))
		return true;
	const char **ns = realloc((void *)*set, (*n + 1) * sizeof(*ns));
	if (!ns)
		return false;
	ns[(*n)++] = s;
	*set = ns;
	return true;
}

/* A parameter value as text: numbers in %.17g (exact), so equal values
 * make equal keys. */
static void rep_value_text(const struct bench_json *v, char *buf, size_t len)
{
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	switch (v->type) {
	case BENCH_JSON_NULL: snprintf(buf, len, "null"); break;
	case BENCH_JSON_TRUE: snprintf(buf, len, "true"); break;
	case BENCH_JSON_FALSE: snprintf(buf, len, "false"); break;
	case BENCH_JSON_NUMBER:
		if (v->num == floor(v->num) && fabs(v->num) < 1e15)
			snprintf(buf, len, "%.0f", v->num);
		else
			snprintf(buf, len, "%.17g", v->num);
		break;
	case BENCH_JSON_STRING: snprintf(buf, len, "%s", v->str); break;
	case BENCH_JSON_ARRAY: snprintf(buf, len, "[%zu items]", v->len); break;
	case BENCH_JSON_OBJECT: snprintf(buf, len, "{%zu members}", v->len); break;
	}
}

/* Orders two values of one parameter: numbers numerically, else text. */
static int rep_cmp_values(const struct bench_json *a, const struct bench_json *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	if (a->type == BENCH_JSON_NUMBER && b->type == BENCH_JSON_NUMBER)
		return a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
	char ta[256], tb[256];
	rep_value_text(a, ta, sizeof(ta));
	rep_value_text(b, tb, sizeof(tb));
	return strcmp(ta, tb);
}

/* The row key: "name=value\n" of every shaping parameter, sorted by name;
 * `skip` (may be NULL) is left out too (for the "vs" plots' groups). */
static char *rep_key(const struct bench_json *params, const char *skip)
{
	const char **names = NULL;
	size_t n = 0;
	for (size_t i = 0; params && i < params->len; i++) {
		if (rep_ignored(params->keys[i]) || (skip && strcmp(params->keys[i], skip) == 0))
			continue;
		if (!rep_set_add(&names, &n, params->keys[i])) {
			free((void *)names);
			return NULL;
		}
	}
	rep_sort((void *)names, n, sizeof(*names), rep_cmp_str);
	size_t cap = 64, used = 0;
	char *key = malloc(cap);
	if (!key) {
		free((void *)names);
		return NULL;
	}
	key[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char val[256];
		rep_value_text(bench_json_get(params, names[i]), val, sizeof(val));
		size_t need = strlen(names[i]) + strlen(val) + 3;
		if (used + need > cap) {
			while (used + need > cap)
				cap *= 2;
			char *nk = realloc(key, cap);
			if (!nk) {
				free(key);
				free((void *)names);
				return NULL;
			}
			key = nk;
		}
		used += (size_t)snprintf(key + used, cap - used, "%s=%s\n", names[i], val);
	}
	free((void *)names);
	return key;
}

/* 1234567 -> "1,234,567" (rounded). */
static void rep_grouped(double v, char *buf, size_t len)
{
	char digits[32];
	long long n = llround(v);
	bool neg = n < 0;
	unsigned long long u = neg ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	snprintf(digits, sizeof(digits), "%llu", u);
	size_t nd = strlen(digits), o = 0;
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < nd && o + 2 < len; i++) {
		if (i && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

static void rep_format(double v, enum rep_fmt fmt, char *buf, size_t len)
{
	switch (fmt) {
	case REP_RATE:
		if (fabs(v) >= 100)
			rep_grouped(v, buf, len);
		else
			snprintf(buf, len, "%.1f", v);
		break;
	case REP_MB: snprintf(buf, len, fabs(v) >= 100 ? "%.1f" : "%.2f", v); break;
	case REP_US:
		if (fabs(v) >= 1000)
			rep_grouped(v, buf, len);
		else
			snprintf(buf, len, "%.1f", v);
		break;
	case REP_INT: rep_grouped(v, buf, len); break;
	case REP_SEC: snprintf(buf, len, fabs(v) >= 100 ? "%.1f" : "%.3f", v); break;
	}
}

/* Markdown table cell text: '|' escaped, newlines flattened. */
static void rep_md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static int rep_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

static double rep_median(double *v, size_t n)
{
	rep_sort(v, n, sizeof(*v), rep_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- loading ---- */

static int rep_load_line(struct rep *r, const char *file, size_t lineno, const char *text,
			 size_t len)
{
	char err[256];
	struct bench_json *j;
	if (bench_json_parse(text, len, &j, err, sizeof(err)) != 0) {
		fprintf(stderr, "report: %s:%zu: not JSON: %s\n", file, lineno, err);
		return -1;
	}
	const char *what = NULL;
	if (j->type != BENCH_JSON_OBJECT) {
		what = "not a JSON object";
		goto bad;
	}
	const struct bench_json *na = bench_json_get(j, "na");
	if (na) {
		struct rep_na m = {
		    .j = j,
		    .target = bench_json_str(na, "target", NULL),
		    .scenario = bench_json_str(na, "scenario", NULL),
		    .reason = bench_json_str(na, "reason", ""),
		    .params = bench_json_get(na, "params"),
		};
		if (na->type != BENCH_JSON_OBJECT || !m.target || !m.scenario ||
		    (m.params && m.params->type != BENCH_JSON_OBJECT)) {
			what = "\"na\" needs target and scenario strings (params an object)";
			goto bad;
		}
		if (r->nnas == r->nas_cap) {
			size_t cap = r->nas_cap ? r->nas_cap * 2 : 16;
			struct rep_na *nn = realloc(r->nas, cap * sizeof(*nn));
			if (!nn)
				goto oom;
			r->nas = nn;
			r->nas_cap = cap;
		}
		r->nas[r->nnas++] = m;
		return 0;
	}
	if (bench_json_num(j, "schema", 0) != 1) {
		what = "not a schema 1 result line";
		goto bad;
	}
	struct rep_run run = {
	    .j = j,
	    .params = bench_json_get(j, "params"),
	    .scenario = bench_json_str(j, "scenario", NULL),
	    .target = bench_json_str(j, "target", NULL),
	    .error = bench_json_str(j, "error", ""),
	    .file = file,
	    .line = lineno,
	    .seq = r->nruns,
	};
	if (!run.scenario || !run.target || !run.params || run.params->type != BENCH_JSON_OBJECT ||
	    !bench_json_get(j, "results")) {
		what = "a result needs scenario, target, params and results";
		goto bad;
	}
	run.key = rep_key(run.params, NULL);
	if (!run.key)
		goto oom;
	if (r->nruns == r->runs_cap) {
		size_t cap = r->runs_cap ? r->runs_cap * 2 : 64;
		struct rep_run *nr = realloc(r->runs, cap * sizeof(*nr));
		if (!nr) {
			free(run.key);
			goto oom;
		}
		r->runs = nr;
		r->runs_cap = cap;
	}
	r->runs[r->nruns++] = run;
	return 0;
bad:
	fprintf(stderr, "report: %s:%zu: %s\n", file, lineno, what);
	bench_json_free(j);
	return -1;
oom:
	fprintf(stderr, "report: out of memory\n");
	bench_json_free(j);
	return -1;
}

static int rep_load_file(struct rep *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "report: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int rc = 0;
	for (;;) {
		if (!buf) {
			fprintf(stderr, "report: out of memory\n");
			fclose(f);
			return -1;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		char *nb = realloc(buf, cap);
		if (!nb)
			free(buf);
		buf = nb;
	}
	if (ferror(f)) {
		fprintf(stderr, "report: %s: read error\n", path);
		rc = -1;
	}
	fclose(f);
	size_t lineno = 0;
	for (size_t at = 0; rc == 0 && at < n;) {
		const char *nl = memchr(buf + at, '\n', n - at);
		size_t end = nl ? (size_t)(nl - buf) : n;
		lineno++;
		bool blank = true;
		for (size_t i = at; i < end; i++)
			if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
				blank = false;
		if (!blank && rep_load_line(r, path, lineno, buf + at, end - at) != 0)
			rc = -1;
		at = end + 1;
	}
	free(buf);
	return rc;
}

/* ---- the environment block ---- */

static void rep_env_values(const struct rep *r, const char *path, char *out, size_t len)
{
	const char **vals = NULL;
	size_t n = 0;
	char tmp[64][128];
	size_t ntmp = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const struct bench_json *v = bench_json_path(r->runs[i].j, path);
		if (!v)
			continue;
		const char *s;
		if (v->type == BENCH_JSON_STRING) {
			s = v->str;
		} else {
			if (ntmp == 64)
				continue;
			rep_value_text(v, tmp[ntmp], sizeof(tmp[0]));
			s = tmp[ntmp++];
		}
		if (!rep_set_add(&vals, &n, s))
			break;
	}
	rep_sort((void *)vals, n, sizeof(*vals), rep_cmp_str);
	out[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " / " : "", vals[i]);
	if (!n)
		snprintf(out, len, "unknown");
	free((void *)vals);
}

static void rep_write_env(struct rep *r)
{
	char cpu[512], cores[128], kernel[256], vm[64], host[256], sha[256], ver[128];
	rep_env_values(r, "env.cpu_model", cpu, sizeof(cpu));
	rep_env_values(r, "env.cores", cores, sizeof(cores));
	rep_env_values(r, "env.kernel", kernel, sizeof(kernel));
	rep_env_values(r, "env.vm", vm, sizeof(vm));
	rep_env_values(r, "env.hostname", host, sizeof(host));
	rep_env_values(r, "env.git_sha", sha, sizeof(sha));
	rep_env_values(r, "env.version", ver, sizeof(ver));
	const char *vmtext = strcmp(vm, "true") == 0	? "a virtual machine"
			     : strcmp(vm, "false") == 0 ? "not a VM"
							: vm;
	fprintf(r->md, "**Machine**: %s, %s cores, kernel %s, %s, host %s.  \n", cpu, cores, kernel,
		vmtext, host);
	fprintf(r->md, "**Build**: rpcrouter-bench %s, git %s.  \n", ver, sha);
	const char *first = NULL, *last = NULL;
	size_t failed = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const char *t = bench_json_str(r->runs[i].j, "env.time", NULL);
		if (r->runs[i].error[0])
			failed++;
		if (!t)
			continue;
		/* ISO 8601 UTC strings order as text. */
		if (!first || strcmp(t, first) < 0)
			first = t;
		if (!last || strcmp(t, last) > 0)
			last = t;
	}
	fprintf(r->md, "**Runs**: %zu result line%s (%zu failed)", r->nruns,
		r->nruns == 1 ? "" : "s", failed);
	if (first)
		fprintf(r->md, ", %s to %s", first, last);
	fprintf(r->md, "; files:");
	for (size_t i = 0; i < r->nfiles; i++) {
		const char *b = strrchr(r->files[i], '/');
		fprintf(r->md, " `%s`", b ? b + 1 : r->files[i]);
	}
	fprintf(r->md, ".\n\n");
}

/* ---- one scenario ---- */

struct rep_row {
	const char *key;
	const struct bench_json *params; /* of its first run */
};

struct rep_scen {
	struct rep *r;
	const char *name;
	size_t *runs; /* indices into r->runs */
	size_t nruns;
	const char **pnames; /* shaping parameter names, display order */
	size_t npnames;
	bool *varying;
	struct rep_row *rows;
	size_t nrows;
};

static int rep_cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct rep_scen *s = ctx;
	const struct rep_row *ra = a, *rb = b;
	for (size_t i = 0; i < s->npnames; i++) {
		int c = rep_cmp_values(bench_json_get(ra->params, s->pnames[i]),
				       bench_json_get(rb->params, s->pnames[i]));
		if (c)
			return c;
	}
	return strcmp(ra->key, rb->key);
}

static bool rep_metric_present(const struct rep_run *run, const struct rep_metric *m)
{
	if (m->scenarios) {
		char pat[64];
		snprintf(pat, sizeof(pat), "|%s|", run->scenario);
		if (!strstr(m->scenarios, pat))
			return false;
	}
	if (run->error[0] || !bench_json_path(run->j, m->path))
		return false;
	switch (m->when) {
	case REP_ALWAYS: return true;
	case REP_LATENCY: return bench_json_num(run->j, "results.latency_us.count", 0) > 0;
	case REP_ROUTER: return bench_json_get(run->j, "router") != NULL;
	case REP_OPEN: return bench_json_num(run->params, "rate", 0) > 0;
	}
	return false;
}

/* Does an n/a mark cover this row of this target? */
static const struct rep_na *rep_na_for(const struct rep_scen *s, const struct rep_row *row,
				       const char *target)
{
	for (size_t i = 0; i < s->r->nnas; i++) {
		const struct rep_na *na = &s->r->nas[i];
		if (strcmp(na->scenario, s->name) || strcmp(na->target, target))
			continue;
		bool match = true;
		for (size_t k = 0; na->params && k < na->params->len && match; k++) {
			const struct bench_json *v =
			    bench_json_get(row->params, na->params->keys[k]);
			match = v && rep_cmp_values(v, na->params->items[k]) == 0;
		}
		if (match)
			return na;
	}
	return NULL;
}

/* Runs of a row and a target (indices), in input order. */
static size_t rep_cell_runs(const struct rep_scen *s, const struct rep_row *row, const char *target,
			    size_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nruns; i++) {
		const struct rep_run *run = &s->r->runs[s->runs[i]];
		if (strcmp(run->key, row->key) == 0 && strcmp(run->target, target) == 0 && n < max)
			out[n++] = s->runs[i];
	}
	return n;
}

/* The median of a metric over the cell's successful runs; false if none. */
static bool rep_cell_value(const struct rep_scen *s, const struct rep_row *row, const char *target,
			   const char *path, const struct rep_metric *m, double *out, size_t *nruns,
			   size_t *nfailed)
{
	size_t idx[256];
	size_t n = rep_cell_runs(s, row, target, idx, 256);
	double vals[256];
	size_t nv = 0;
	*nruns = n;
	*nfailed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rep_run *run = &s->r->runs[idx[i]];
		if (run->error[0]) {
			(*nfailed)++;
			continue;
		}
		if (m && !rep_metric_present(run, m))
			continue;
		const struct bench_json *v = bench_json_path(run->j, path);
		if (v && v->type == BENCH_JSON_NUMBER)
			vals[nv++] = v->num;
	}
	if (!nv)
		return false;
	*out = rep_median(vals, nv);
	return true;
}

static void rep_row_desc(const struct rep_scen *s, const struct rep_row *row, const char *skip,
			 char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->npnames && used < len; i++) {
		if (!s->varying[i] || (skip && strcmp(skip, s->pnames[i]) == 0))
			continue;
		char v[256];
		rep_value_text(bench_json_get(row->params, s->pnames[i]), v, sizeof(v));
		used += (size_t)snprintf(buf + used, len - used, "%s%s %s", used ? ", " : "",
					 s->pnames[i], v);
	}
}

/* Adds a copy of text to the note set (a set of borrowed strings, so equal
 * notes print once); the copy is kept in owned[] until the caller frees
 * it. false when out of memory: the caller stops adding notes. */
static bool rep_note_add(char ***owned, size_t *nowned, const char ***notes, size_t *nnotes,
			 const char *text)
{
	char **no = realloc(*owned, (*nowned + 1) * sizeof(*no));
	if (!no)
		return false;
	*owned = no;
	char *dup = strdup(text);
	if (!dup)
		return false;
	no[(*nowned)++] = dup;
	return rep_set_add(notes, nnotes, dup);
}

static void rep_write_table(struct rep_scen *s)
{
	struct rep *r = s->r;
	FILE *f = r->md;
	/* The parameters every row shares, then the varying ones as columns. */
	bool any_const = false;
	for (size_t i = 0; i < s->npnames; i++) {
		if (s->varying[i])
			continue;
		char v[256];
		rep_value_text(bench_json_get(s->rows[0].params, s->pnames[i]), v, sizeof(v));
		fprintf(f, "%s%s %s", any_const ? ", " : "Parameters of every row: ", s->pnames[i],
			v);
		any_const = true;
	}
	if (any_const)
		fprintf(f, ".\n\n");
	fprintf(f, "|");
	for (size_t i = 0; i < s->npnames; i++)
		if (s->varying[i])
			fprintf(f, " %s |", s->pnames[i]);
	fprintf(f, " metric |");
	for (size_t t = 0; t < r->ntargets; t++)
		fprintf(f, " %s |", r->targets[t]);
	fprintf(f, "\n|");
	for (size_t i = 0; i < s->npnames; i++)
		if (s->varying[i])
			fprintf(f, "---:|");
	fprintf(f, "---|");
	for (size_t t = 0; t < r->ntargets; t++)
		fprintf(f, "---:|");
	fprintf(f, "\n");

	bool show[REP_NMETRICS] = {false};
	for (size_t m = 0; m < REP_NMETRICS; m++)
		for (size_t i = 0; i < s->nruns && !show[m]; i++)
			show[m] = rep_metric_present(&r->runs[s->runs[i]], &rep_metrics[m]);
	bool multi = false;
	for (size_t w = 0; w < s->nrows; w++) {
		const struct rep_row *row = &s->rows[w];
		/* A metric line only where some target has a value; a row with
		 * none (every run failed, or n/a) gets one "status" line. */
		bool has[REP_NMETRICS] = {false}, row_any = false;
		for (size_t m = 0; m < REP_NMETRICS; m++) {
			for (size_t t = 0; t < r->ntargets && show[m] && !has[m]; t++) {
				double v;
				size_t nr, nf;
				has[m] = rep_cell_value(s, row, r->targets[t], rep_metrics[m].path,
							&rep_metrics[m], &v, &nr, &nf);
			}
			row_any |= has[m];
		}
		bool first = true;
		for (size_t m = 0; m < REP_NMETRICS + 1; m++) {
			const struct rep_metric *me = m < REP_NMETRICS ? &rep_metrics[m] : NULL;
			if (me ? !has[m] : row_any)
				continue;
			fprintf(f, "|");
			for (size_t i = 0; i < s->npnames; i++) {
				if (!s->varying[i])
					continue;
				char v[256] = "";
				if (first)
					rep_value_text(bench_json_get(row->params, s->pnames[i]), v,
						       sizeof(v));
				fprintf(f, " ");
				rep_md_cell(f, v);
				fprintf(f, " |");
			}
			const char *label = me ? me->label : "status";
			/* an rpc "message" is a call (request and reply) */
			if (me == &rep_metrics[0] && strcmp(s->name, "rpc") == 0)
				label = "calls/s";
			fprintf(f, " %s |", label);
			for (size_t t = 0; t < r->ntargets; t++) {
				double v = 0;
				size_t nr, nf;
				char cell[64];
				if (me && rep_cell_value(s, row, r->targets[t], me->path, me, &v,
							 &nr, &nf)) {
					rep_format(v, me->fmt, cell, sizeof(cell));
					multi |= nr - nf > 1;
				} else {
					rep_cell_value(s, row, r->targets[t], "results.msg_per_s",
						       NULL, &v, &nr, &nf);
					if (nr && nf == nr)
						snprintf(cell, sizeof(cell), "failed");
					else if (nr)
						snprintf(cell, sizeof(cell), "–");
					else if (rep_na_for(s, row, r->targets[t]))
						snprintf(cell, sizeof(cell), "n/a");
					else
						snprintf(cell, sizeof(cell), "–");
				}
				fprintf(f, " %s |", cell);
			}
			fprintf(f, "\n");
			first = false;
		}
	}
	fprintf(f, "\n");
	if (multi)
		fprintf(f, "A cell with several successful runs gives their median.\n");
	fprintf(f, "\"–\": not run; \"n/a\": the target cannot run it (below).\n\n");

	/* n/a reasons, then failures, each sorted. */
	const char **notes = NULL;
	size_t nnotes = 0;
	char **owned = NULL;
	size_t nowned = 0;
	for (size_t i = 0; i < r->nnas; i++) {
		const struct rep_na *na = &r->nas[i];
		if (strcmp(na->scenario, s->name))
			continue;
		char buf[1024], pd[512] = "";
		size_t used = 0;
		for (size_t k = 0; na->params && k < na->params->len; k++) {
			char v[256];
			rep_value_text(na->params->items[k], v, sizeof(v));
			used += (size_t)snprintf(pd + used, sizeof(pd) - used, "%s%s %s",
						 k ? ", " : " (", na->params->keys[k], v);
			if (used >= sizeof(pd))
				break;
		}
		if (na->params && na->params->len && used < sizeof(pd) - 1)
			strcat(pd, ")");
		snprintf(buf, sizeof(buf), "- n/a: %s%s: %s", na->target, pd, na->reason);
		if (!rep_note_add(&owned, &nowned, &notes, &nnotes, buf))
			break;
	}
	for (size_t i = 0; i < s->nruns; i++) {
		const struct rep_run *run = &r->runs[s->runs[i]];
		if (!run->error[0])
			continue;
		char buf[1024];
		const char *b = strrchr(run->file, '/');
		snprintf(buf, sizeof(buf), "- failed: %s (%s:%zu): %s", run->target,
			 b ? b + 1 : run->file, run->line, run->error);
		if (!rep_note_add(&owned, &nowned, &notes, &nnotes, buf))
			break;
	}
	rep_sort((void *)notes, nnotes, sizeof(*notes), rep_cmp_str);
	for (size_t i = 0; i < nnotes; i++) {
		fprintf(f, "%s\n", notes[i]);
	}
	if (nnotes)
		fprintf(f, "\n");
	free((void *)notes);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
}

/* ---- plots ---- */

static FILE *rep_open_plot(struct rep *r, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", r->img_dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "report: %s: %s\n", path, strerror(errno));
		r->status = 1;
	}
	return f;
}

static void rep_link_plot(struct rep *r, const char *name, const char *alt)
{
	fprintf(r->md, "![%s](%s%s%s)\n\n", alt, r->img_ref, r->img_ref[0] ? "/" : "", name);
}

static int rep_write_plot(struct rep *r, const char *name, const struct bench_svg_plot *p)
{
	FILE *f = rep_open_plot(r, name);
	if (!f)
		return -1;
	int rc = bench_svg_write(f, p);
	if (fclose(f) != 0) {
		fprintf(stderr, "report: %s/%s: write error\n", r->img_dir, name);
		r->status = 1;
		return -1;
	}
	if (rc != 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", r->img_dir, name);
		remove(path);
		return -1;
	}
	rep_link_plot(r, name, p->title);
	return 0;
}

static void rep_plot_cdfs(struct rep_scen *s)
{
	struct rep *r = s->r;
	for (size_t w = 0; w < s->nrows; w++) {
		const struct rep_row *row = &s->rows[w];
		struct bench_svg_series series[16];
		double *xs[16], *ys[16];
		size_t ns = 0;
		for (size_t t = 0; t < r->ntargets && ns < 16; t++) {
			size_t idx[64];
			size_t n = rep_cell_runs(s, row, r->targets[t], idx, 64);
			const struct bench_json *cdf = NULL;
			for (size_t i = 0; i < n && !cdf; i++) {
				const struct rep_run *run = &r->runs[idx[i]];
				const struct bench_json *c =
				    bench_json_path(run->j, "results.latency_us.cdf");
				if (!run->error[0] && c && c->type == BENCH_JSON_ARRAY &&
				    c->len >= 2)
					cdf = c;
			}
			if (!cdf)
				continue;
			xs[ns] = calloc(cdf->len, sizeof(double));
			ys[ns] = calloc(cdf->len, sizeof(double));
			if (!xs[ns] || !ys[ns]) {
				free(xs[ns]);
				free(ys[ns]);
				break;
			}
			size_t np = 0;
			for (size_t i = 0; i < cdf->len; i++) {
				const struct bench_json *pt = cdf->items[i];
				if (pt->type != BENCH_JSON_ARRAY || pt->len != 2 ||
				    pt->items[0]->type != BENCH_JSON_NUMBER ||
				    pt->items[1]->type != BENCH_JSON_NUMBER)
					continue;
				xs[ns][np] = pt->items[0]->num;
				ys[ns][np] = pt->items[1]->num;
				np++;
			}
			series[ns] = (struct bench_svg_series){
			    .name = r->targets[t],
			    .color = bench_svg_color(r->targets[t], t),
			    .n = np,
			    .x = xs[ns],
			    .y = ys[ns],
			};
			ns++;
		}
		if (ns) {
			char name[256], title[512], desc[384];
			rep_row_desc(s, row, NULL, desc, sizeof(desc));
			if (s->nrows > 1)
				snprintf(name, sizeof(name), "%s-latency-cdf-%zu.svg", s->name,
					 w + 1);
			else
				snprintf(name, sizeof(name), "%s-latency-cdf.svg", s->name);
			snprintf(title, sizeof(title), "%s latency CDF%s%s", s->name,
				 desc[0] ? ": " : "", desc);
			struct bench_svg_plot p = {
			    .title = title,
			    .xlabel = "latency (µs, log scale)",
			    .ylabel = "fraction at or below",
			    .xlog = true,
			    .y_unit = true,
			    .nseries = ns,
			    .series = series,
			};
			rep_write_plot(r, name, &p);
		}
		for (size_t i = 0; i < ns; i++) {
			free(xs[i]);
			free(ys[i]);
		}
	}
}

/* msg/s against one varying parameter, one plot per group of rows that
 * agree on everything else. */
static void rep_plot_vs(struct rep_scen *s, const char *xparam, const char *xlabel)
{
	struct rep *r = s->r;
	size_t xi = s->npnames;
	for (size_t i = 0; i < s->npnames; i++)
		if (strcmp(s->pnames[i], xparam) == 0)
			xi = i;
	if (xi == s->npnames || !s->varying[xi])
		return;
	/* Groups in row order: a row starts a group unless an earlier row
	 * has the same key without xparam. */
	char **gkey = calloc(s->nrows, sizeof(*gkey));
	if (!gkey)
		return;
	for (size_t w = 0; w < s->nrows; w++)
		gkey[w] = rep_key(s->rows[w].params, xparam);
	/* A group leader is the first row of its key; a group is plotted when
	 * its rows have two x values or more. Plots are numbered among the
	 * plotted groups only, so the names do not depend on the others. */
	bool *plotted = calloc(s->nrows, sizeof(*plotted));
	if (!plotted) {
		free(gkey);
		return;
	}
	size_t nplots = 0;
	for (size_t w = 0; w < s->nrows; w++) {
		bool seen = !gkey[w];
		for (size_t v = 0; v < w && !seen; v++)
			seen = gkey[v] && strcmp(gkey[v], gkey[w]) == 0;
		const struct bench_json *x0 = bench_json_get(s->rows[w].params, xparam);
		for (size_t v = w + 1; v < s->nrows && !seen && !plotted[w]; v++)
			plotted[w] =
			    gkey[v] && strcmp(gkey[v], gkey[w]) == 0 &&
			    rep_cmp_values(x0, bench_json_get(s->rows[v].params, xparam)) != 0;
		nplots += plotted[w];
	}
	size_t gno = 0;
	for (size_t w = 0; w < s->nrows; w++) {
		if (!plotted[w])
			continue;
		gno++;
		struct bench_svg_series series[16];
		double xs[16][64], ys[16][64];
		size_t ns = 0, distinct_x = 0;
		double xseen[64];
		bool all_pos = true;
		double xmin = INFINITY, xmax = 0;
		for (size_t t = 0; t < r->ntargets && ns < 16; t++) {
			size_t np = 0;
			/* Rows are sorted by the display order, so x ascends
			 * within a group when xparam comes first among the
			 * varying; sort the points anyway. */
			for (size_t v = w; v < s->nrows && np < 64; v++) {
				if (!gkey[v] || strcmp(gkey[v], gkey[w]))
					continue;
				const struct bench_json *xv =
				    bench_json_get(s->rows[v].params, xparam);
				double y;
				size_t nr, nf;
				if (!xv || xv->type != BENCH_JSON_NUMBER ||
				    !rep_cell_value(s, &s->rows[v], r->targets[t],
						    "results.msg_per_s", &rep_metrics[0], &y, &nr,
						    &nf))
					continue;
				xs[ns][np] = xv->num;
				ys[ns][np] = y;
				np++;
				bool known = false;
				for (size_t k = 0; k < distinct_x && !known; k++)
					known = xseen[k] == xv->num;
				if (!known && distinct_x < 64)
					xseen[distinct_x++] = xv->num;
				all_pos &= xv->num > 0;
				xmin = fmin(xmin, xv->num);
				xmax = fmax(xmax, xv->num);
			}
			if (!np)
				continue;
			/* insertion sort by x: a handful of points */
			for (size_t a = 1; a < np; a++)
				for (size_t b = a; b > 0 && xs[ns][b - 1] > xs[ns][b]; b--) {
					double tx = xs[ns][b], ty = ys[ns][b];
					xs[ns][b] = xs[ns][b - 1];
					ys[ns][b] = ys[ns][b - 1];
					xs[ns][b - 1] = tx;
					ys[ns][b - 1] = ty;
				}
			series[ns] = (struct bench_svg_series){
			    .name = r->targets[t],
			    .color = bench_svg_color(r->targets[t], t),
			    .n = np,
			    .x = xs[ns],
			    .y = ys[ns],
			    .markers = true,
			};
			ns++;
		}
		if (ns && distinct_x >= 2) {
			char name[256], title[512], desc[384], xl[128];
			rep_row_desc(s, &s->rows[w], xparam, desc, sizeof(desc));
			bool xlog = all_pos && xmax / xmin >= 10;
			if (nplots > 1)
				snprintf(name, sizeof(name), "%s-vs-%s-%zu.svg", s->name, xparam,
					 gno);
			else
				snprintf(name, sizeof(name), "%s-vs-%s.svg", s->name, xparam);
			snprintf(title, sizeof(title), "%s msg/s vs %s%s%s", s->name, xlabel,
				 desc[0] ? ": " : "", desc);
			snprintf(xl, sizeof(xl), "%s%s", xlabel, xlog ? " (log scale)" : "");
			struct bench_svg_plot p = {
			    .title = title,
			    .xlabel = xl,
			    .ylabel = "msg/s",
			    .xlog = xlog,
			    .nseries = ns,
			    .series = series,
			};
			rep_write_plot(r, name, &p);
		}
	}
	for (size_t w = 0; w < s->nrows; w++)
		free(gkey[w]);
	free(gkey);
	free(plotted);
}

static void rep_write_commands(struct rep_scen *s)
{
	const char **cmds = NULL;
	size_t n = 0;
	for (size_t i = 0; i < s->nruns; i++) {
		const char *c = bench_json_str(s->r->runs[s->runs[i]].j, "env.command", NULL);
		if (c && !rep_set_add(&cmds, &n, c))
			break;
	}
	if (n) {
		rep_sort((void *)cmds, n, sizeof(*cmds), rep_cmp_str);
		fprintf(s->r->md, "Commands:\n\n```\n");
		for (size_t i = 0; i < n; i++)
			fprintf(s->r->md, "%s\n", cmds[i]);
		fprintf(s->r->md, "```\n\n");
	}
	free((void *)cmds);
}

static void rep_scenario(struct rep *r, const char *name)
{
	struct rep_scen s = {.r = r, .name = name};
	s.runs = calloc(r->nruns + 1, sizeof(*s.runs));
	if (!s.runs)
		goto oom;
	for (size_t i = 0; i < r->nruns; i++) {
		if (strcmp(r->runs[i].scenario, name))
			continue;
		s.runs[s.nruns++] = i;
		const struct bench_json *p = r->runs[i].params;
		for (size_t k = 0; k < p->len; k++)
			if (!rep_ignored(p->keys[k]) &&
			    !rep_set_add(&s.pnames, &s.npnames, p->keys[k]))
				goto oom;
	}
	rep_sort((void *)s.pnames, s.npnames, sizeof(*s.pnames), rep_cmp_params);
	s.rows = calloc(s.nruns + 1, sizeof(*s.rows));
	s.varying = calloc(s.npnames + 1, sizeof(*s.varying));
	if (!s.rows || !s.varying)
		goto oom;
	for (size_t i = 0; i < s.nruns; i++) {
		const struct rep_run *run = &r->runs[s.runs[i]];
		bool seen = false;
		for (size_t w = 0; w < s.nrows && !seen; w++)
			seen = strcmp(s.rows[w].key, run->key) == 0;
		if (!seen)
			s.rows[s.nrows++] =
			    (struct rep_row){.key = run->key, .params = run->params};
	}
	for (size_t k = 0; k < s.npnames; k++)
		for (size_t w = 1; w < s.nrows && !s.varying[k]; w++)
			s.varying[k] =
			    rep_cmp_values(bench_json_get(s.rows[0].params, s.pnames[k]),
					   bench_json_get(s.rows[w].params, s.pnames[k])) != 0;
	if (s.nrows > 1)
		qsort_r(s.rows, s.nrows, sizeof(*s.rows), rep_cmp_rows, &s);

	fprintf(r->md, "### %s\n\n", name);
	if (!s.nrows) {
		fprintf(r->md, "No result from any target.\n\n");
		for (size_t i = 0; i < r->nnas; i++)
			if (strcmp(r->nas[i].scenario, name) == 0)
				fprintf(r->md, "- n/a: %s: %s\n", r->nas[i].target,
					r->nas[i].reason);
		fprintf(r->md, "\n");
		goto out;
	}
	rep_write_table(&s);
	if (r->img_dir) {
		/* CDFs where latency is the point (throughput's and fanout's
		 * percentiles stay in the table): rpc calls, handshake cycles. */
		if (strcmp(name, "rpc") == 0 || strcmp(name, "handshake") == 0)
			rep_plot_cdfs(&s);
		if (strcmp(name, "throughput") == 0 || strcmp(name, "fanout") == 0) {
			rep_plot_vs(&s, "body_size", "body size in bytes");
			rep_plot_vs(&s, "senders", "senders");
			rep_plot_vs(&s, "connections", "connections");
		}
	}
	rep_write_commands(&s);
	goto out;
oom:
	fprintf(stderr, "report: out of memory\n");
	r->status = 1;
out:
	free(s.runs);
	free((void *)s.pnames);
	free(s.rows);
	free(s.varying);
}

/* ---- main ---- */

static void rep_usage(FILE *f)
{
	fprintf(f,
		"usage: rpcrouter-bench report [--md OUT.md] [--img-dir DIR] [--img-ref PREFIX]\n"
		"                              [--title TITLE] RESULTS.jsonl...\n"
		"  --md OUT.md      write the markdown there (default: stdout)\n"
		"  --img-dir DIR    write SVG plots into DIR (must exist)\n"
		"  --img-ref PREFIX how the markdown links them (default: DIR relative\n"
		"                   to OUT.md's folder, or DIR)\n"
		"  --title TITLE    the heading (default: rpcrouter-bench results)\n"
		"A line {\"na\": {\"target\": T, \"scenario\": S, \"params\": {...},\n"
		"\"reason\": R}} marks what T cannot run (n/a in the tables).\n");
}

/* DIR as seen from OUT.md's folder when DIR lies under it. */
static char *rep_img_ref(const char *md, const char *dir)
{
	if (!md)
		return strdup(dir);
	char mdreal[PATH_MAX], dirreal[PATH_MAX], mdcopy[PATH_MAX];
	snprintf(mdcopy, sizeof(mdcopy), "%s", md);
	char *slash = strrchr(mdcopy, '/');
	if (slash)
		*slash = '\0';
	const char *mddir = slash ? (mdcopy[0] ? mdcopy : "/") : ".";
	if (!realpath(mddir, mdreal) || !realpath(dir, dirreal))
		return strdup(dir);
	size_t n = strlen(mdreal);
	if (strcmp(mdreal, dirreal) == 0)
		return strdup("");
	if (strncmp(mdreal, dirreal, n) == 0 && (dirreal[n] == '/' || n == 1))
		return strdup(dirreal + (n == 1 ? 1 : n + 1));
	return strdup(dir);
}

int bench_report_main(int argc, char **argv)
{
	struct rep r = {.title = "rpcrouter-bench results"};
	char *img_ref_owned = NULL;
	const char **scen = NULL;
	size_t nscen = 0;
	r.files = calloc((size_t)argc + 1, sizeof(*r.files));
	if (!r.files)
		return 1;
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			rep_usage(stdout);
			free(r.files);
			return 0;
		}
		if (!opts_done && strcmp(a, "--md") == 0)
			dst = &r.md_path;
		else if (!opts_done && strcmp(a, "--img-dir") == 0)
			dst = &r.img_dir;
		else if (!opts_done && strcmp(a, "--img-ref") == 0)
			dst = &r.img_ref;
		else if (!opts_done && strcmp(a, "--title") == 0)
			dst = &r.title;
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "report: %s needs a value\n", a);
				rep_usage(stderr);
				free(r.files);
				return 2;
			}
			*dst = argv[++i];
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			fprintf(stderr, "report: unknown option %s\n", a);
			rep_usage(stderr);
			free(r.files);
			return 2;
		}
		r.files[r.nfiles++] = argv[i];
	}
	if (!r.nfiles) {
		fprintf(stderr, "report: no result file given\n");
		rep_usage(stderr);
		free(r.files);
		return 2;
	}
	for (size_t i = 0; i < r.nfiles; i++)
		if (rep_load_file(&r, r.files[i]) != 0)
			r.status = 1;
	if (r.status)
		goto done;
	if (r.img_dir && !r.img_ref) {
		img_ref_owned = rep_img_ref(r.md_path, r.img_dir);
		r.img_ref = img_ref_owned ? img_ref_owned : r.img_dir;
	}
	for (size_t i = 0; i < r.nruns; i++) {
		if (!rep_set_add(&r.targets, &r.ntargets, r.runs[i].target) ||
		    !rep_set_add(&scen, &nscen, r.runs[i].scenario))
			goto oom;
	}
	for (size_t i = 0; i < r.nnas; i++) {
		if (!rep_set_add(&r.targets, &r.ntargets, r.nas[i].target) ||
		    !rep_set_add(&scen, &nscen, r.nas[i].scenario))
			goto oom;
	}
	rep_sort((void *)r.targets, r.ntargets, sizeof(*r.targets), rep_cmp_targets);
	rep_sort((void *)scen, nscen, sizeof(*scen), rep_cmp_scenarios);

	r.md = r.md_path ? fopen(r.md_path, "w") : stdout;
	if (!r.md) {
		fprintf(stderr, "report: %s: %s\n", r.md_path, strerror(errno));
		r.status = 1;
		goto done;
	}
	fprintf(r.md, "## %s\n\n", r.title);
	rep_write_env(&r);
	for (size_t i = 0; i < nscen; i++)
		rep_scenario(&r, scen[i]);
	if (r.md != stdout) {
		if (fclose(r.md) != 0) {
			fprintf(stderr, "report: %s: write error\n", r.md_path);
			r.status = 1;
		}
	} else if (fflush(stdout) != 0) {
		r.status = 1;
	}
	goto done;
oom:
	fprintf(stderr, "report: out of memory\n");
	r.status = 1;
done:
	for (size_t i = 0; i < r.nruns; i++) {
		bench_json_free(r.runs[i].j);
		free(r.runs[i].key);
	}
	for (size_t i = 0; i < r.nnas; i++)
		bench_json_free(r.nas[i].j);
	free(r.runs);
	free(r.nas);
	free((void *)r.targets);
	free((void *)scen);
	free(r.files);
	free(img_ref_owned);
	return r.status;
}
