/*
 * bench_env: the machine and build a result was measured on (the "env"
 * block of every result line), and the router process's CPU time and
 * memory from /proc (the "router" block, --router-pid).
 */
#ifndef BENCH_ENV_H
#define BENCH_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench_out.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bench_env {
	char git_sha[64];
	char command[4096];
	char cpu_model[256];
	int cores;
	char kernel[256];
	bool vm;
	char hostname[256];
	char time[32];
	char version[32];
};

void bench_env_collect(struct bench_env *e, int argc, char **argv);
void bench_env_write(struct bench_out *o, const struct bench_env *e);

struct bench_proc_sample {
	bool ok;
	double cpu_s;	 /* utime + stime of every thread of the process */
	double user_s;	 /* utime alone (10 ms ticks): the process's own code */
	double system_s; /* stime alone: the kernel on its behalf (system calls,
			  * the socket driver's TCP) */
	uint64_t rss_kb; /* VmRSS */
	uint64_t hwm_kb; /* VmHWM: the kernel's own peak */
};

/* Reads /proc/PID/stat and /proc/PID/status; ok false when the process
 * is gone or unreadable. */
void bench_proc_sample(pid_t pid, struct bench_proc_sample *s);

#ifdef __cplusplus
}
#endif
#endif
