/*
 * bench_out: a minimal JSON writer for rpcrouter-bench's result lines
 * (format: /work/briefs/bench_json.md, "schema": 1). One object per line;
 * strings escaped per RFC 8259 section 7; non-finite doubles written as 0
 * (JSON has no NaN).
 */
#ifndef BENCH_OUT_H
#define BENCH_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_OUT_DEPTH 8

struct bench_out {
	char *buf; /* open_memstream's buffer, owned */
	size_t len;
	FILE *f;
	int depth;
	bool first[BENCH_OUT_DEPTH];
};

bool bench_out_open(struct bench_out *o);
/* Ends the line and returns the text (owned by o until bench_out_free). */
const char *bench_out_finish(struct bench_out *o);
void bench_out_free(struct bench_out *o);

/* key NULL inside arrays. */
void bench_out_obj(struct bench_out *o, const char *key);
void bench_out_arr(struct bench_out *o, const char *key);
void bench_out_end(struct bench_out *o, char close); /* '}' or ']' */
void bench_out_str(struct bench_out *o, const char *key, const char *v);
void bench_out_u64(struct bench_out *o, const char *key, uint64_t v);
void bench_out_i64(struct bench_out *o, const char *key, int64_t v);
void bench_out_dbl(struct bench_out *o, const char *key, double v);
void bench_out_bool(struct bench_out *o, const char *key, bool v);

#ifdef __cplusplus
}
#endif
#endif
