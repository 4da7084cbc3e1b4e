/*
 * bench_hist: a latency histogram after HdrHistogram (Gil Tene): log-linear
 * buckets, 3 significant decimal digits over 1 ns .. 100 s. Values are
 * nanoseconds; recording is O(1) with no allocation; histograms of the same
 * layout merge by adding counts (one per thread, merged at the end).
 *
 * Layout: 2048 sub-buckets (2^11 >= 2 * 10^3, so every value keeps 3
 * significant digits); bucket b covers [1024 << b, 2048 << b) with 1024
 * sub-buckets of width 1 << b (bucket 0 also covers [0, 1024)).
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_HIST_MAX_NS  100000000000ull /* 100 s: larger values are clamped */
#define BENCH_HIST_CDF_MAX 200

struct bench_hist {
	uint64_t *counts; /* bench_hist_len() entries, owned */
	uint64_t total;
	uint64_t min, max; /* exact, ns */
	double sum;	   /* exact sum, ns (for the mean) */
	uint64_t clamped;  /* values above BENCH_HIST_MAX_NS */
};

size_t bench_hist_len(void);
bool bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
void bench_hist_reset(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t ns);
/* dst += src */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* Value (ns) at quantile q in [0, 1]: the highest value equivalent (same
 * bucket) to the smallest recorded value with at least q of the samples
 * at or below it; clamped to the exact max. 0 when empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
double bench_hist_mean(const struct bench_hist *h);
/* Up to max (<= BENCH_HIST_CDF_MAX) points (value ns, cumulative fraction),
 * fraction strictly ascending, the last one 1.0. Returns the count. */
size_t bench_hist_cdf(const struct bench_hist *h, uint64_t *values, double *fractions, size_t max);
/* Index of a value and the range it stands for (exposed for tests). */
size_t bench_hist_index(uint64_t ns);
uint64_t bench_hist_lowest(size_t index);
uint64_t bench_hist_highest(size_t index);

#ifdef __cplusplus
}
#endif
#endif
