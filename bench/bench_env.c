/* bench_env: see bench_env.h. */
#include "bench_env.h"
#include "bench_version.h"

#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_VERSION
#define BENCH_VERSION "unknown"
#endif

static void append(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);
	if (n + 1 < cap)
		snprintf(dst + n, cap - n, "%s", s);
}

/* The command as a shell would take it back: words with anything but
 * [A-Za-z0-9_./:=,@%+-] single-quoted. */
static void join_command(char *dst, size_t cap, int argc, char **argv)
{
	dst[0] = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i)
			append(dst, cap, " ");
		if (i == 0) {
			const char *slash = strrchr(a, '/');
			a = slash ? slash + 1 : a;
		}
		bool plain = *a != 0;
		for (const char *p = a; *p; p++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_./:=,@%+-",
				    *p))
				plain = false;
		if (plain) {
			append(dst, cap, a);
			continue;
		}
		append(dst, cap, "'");
		for (const char *p = a; *p; p++) {
			char one[2] = {*p, 0};
			append(dst, cap, *p == '\'' ? "'\\''" : one);
		}
		append(dst, cap, "'");
	}
}

static void read_cpuinfo(struct bench_env *e)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		if (!e->cpu_model[0] && strncmp(line, "model name", 10) == 0) {
			const char *c = strchr(line, ':');
			if (c) {
				c++;
				while (*c == ' ' || *c == '\t')
					c++;
				snprintf(e->cpu_model, sizeof e->cpu_model, "%s", c);
				e->cpu_model[strcspn(e->cpu_model, "\n")] = 0;
			}
		}
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor"))
			e->vm = true;
	}
	fclose(f);
}

static void read_dmi(struct bench_env *e)
{
	/* Without the cpu flag (some hypervisors hide it) the DMI vendor
	 * still names the usual ones. */
	FILE *f = fopen("/sys/class/dmi/id/sys_vendor", "r");
	if (!f)
		return;
	char v[256] = "";
	if (fgets(v, sizeof v, f)) {
		static const char *const vendors[] = {
		    "QEMU",    "KVM",	     "VMware", "Xen",	   "Microsoft Corporation",
		    "innotek", "Amazon EC2", "Google", "Parallels"};
		for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
			if (strstr(v, vendors[i]))
				e->vm = true;
	}
	fclose(f);
}

void bench_env_collect(struct bench_env *e, int argc, char **argv)
{
	memset(e, 0, sizeof *e);
	snprintf(e->git_sha, sizeof e->git_sha, "%s", BENCH_GIT_SHA);
	snprintf(e->version, sizeof e->version, "%s", BENCH_VERSION);
	join_command(e->command, sizeof e->command, argc, argv);
	read_cpuinfo(e);
	if (!e->vm)
		read_dmi(e);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	e->cores = n > 0 ? (int)n : 1;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(e->kernel, sizeof e->kernel, "%s", u.release);
	if (gethostname(e->hostname, sizeof e->hostname - 1) != 0)
		e->hostname[0] = 0;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(e->time, sizeof e->time, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void bench_env_write(struct bench_out *o, const struct bench_env *e)
{
	bench_out_obj(o, "env");
	bench_out_str(o, "git_sha", e->git_sha);
	bench_out_str(o, "command", e->command);
	bench_out_str(o, "cpu_model", e->cpu_model);
	bench_out_u64(o, "cores", (uint64_t)e->cores);
	bench_out_str(o, "kernel", e->kernel);
	bench_out_bool(o, "vm", e->vm);
	bench_out_str(o, "hostname", e->hostname);
	bench_out_str(o, "time", e->time);
	bench_out_str(o, "version", e->version);
	bench_out_end(o, '}');
}

static bool sum_schedstat(pid_t pid, double *cpu_s)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	unsigned long long total = 0;
	bool any = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char p2[128];
		snprintf(p2, sizeof p2, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p2, "r");
		if (!f)
			continue;
		unsigned long long ns;
		if (fscanf(f, "%llu", &ns) == 1) {
			total += ns;
			any = true;
		}
		fclose(f);
	}
	closedir(d);
	*cpu_s = (double)total / 1e9;
	return any;
}

void bench_proc_sample(pid_t pid, struct bench_proc_sample *s)
{
	memset(s, 0, sizeof *s);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[2048];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* proc(5): "pid (comm) state ..." and comm may hold spaces and
	 * parentheses: fields count from the last ')'. utime and stime are
	 * fields 14 and 15 (1-based) and cover every thread of the process. */
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	p++;
	unsigned long long ut = 0, st = 0;
	int field = 2;
	char *save = NULL;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 14)
			ut = strtoull(tok, NULL, 10);
		else if (field == 15) {
			st = strtoull(tok, NULL, 10);
			break;
		}
	}
	long hz = sysconf(_SC_CLK_TCK);
	s->user_s = (double)ut / (double)(hz > 0 ? hz : 100);
	s->system_s = (double)st / (double)(hz > 0 ? hz : 100);
	s->cpu_s = s->user_s + s->system_s;
	/* Ticks are 10 ms: a short run reads 0. The scheduler's own time on
	 * CPU per thread (schedstat, ns) is exact; summed over the threads
	 * alive now, which for a router are all that matter. */
	double sched = 0;
	if (sum_schedstat(pid, &sched) && sched > 0)
		s->cpu_s = sched;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			s->rss_kb = strtoull(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			s->hwm_kb = strtoull(line + 6, NULL, 10);
	}
	fclose(f);
	s->ok = true;
}
