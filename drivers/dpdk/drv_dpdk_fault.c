/* Fault injection for tests: see drv_dpdk_fault.h for the semantics. */
#include "drv_dpdk_fault.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- spec parsing ---- */

static int spec_fail(char *err, size_t err_len, const char *item, size_t item_len, const char *fmt,
		     ...) __attribute__((format(printf, 5, 6)));

static int spec_fail(char *err, size_t err_len, const char *item, size_t item_len, const char *fmt,
		     ...)
{
	if (err == NULL || err_len == 0)
		return -1;
	int n = snprintf(err, err_len, "fault spec: '%.*s': ", (int)item_len, item);
	if (n < 0 || (size_t)n >= err_len)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* a probability: the whole of [s, e) is a decimal number in [0,1] */
static int spec_prob(const char *s, const char *e, double *out)
{
	char buf[64];
	size_t len = (size_t)(e - s);

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* strtod also takes "nan", "inf" and hex floats: insist on digits */
	for (size_t i = 0; i < len; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.' || buf[i] == 'e' ||
		      buf[i] == 'E' || buf[i] == '-' || buf[i] == '+'))
			return -1;
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno != 0 || *end != '\0' || end == buf || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

/* a time: digits then ns|us|ms|s; > 0, in ns without overflow */
static int spec_time(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (p == e || *p < '0' || *p > '9')
		return -1;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	size_t ulen = (size_t)(e - p);
	uint64_t mul;
	if (ulen == 2 && memcmp(p, "ns", 2) == 0)
		mul = 1;
	else if (ulen == 2 && memcmp(p, "us", 2) == 0)
		mul = 1000;
	else if (ulen == 2 && memcmp(p, "ms", 2) == 0)
		mul = 1000000;
	else if (ulen == 1 && *p == 's')
		mul = 1000000000;
	else
		return -1;
	if (v == 0 || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int spec_seed(const char *s, const char *e, uint64_t *out)
{
	char buf[32];
	size_t len = (size_t)(e - s);

	if (len == 0 || len >= sizeof(buf) || *s < '0' || *s > '9')
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* decimal or 0x hex, as the error says: base 0 would read a leading
	 * zero as octal (seed=010 is ten, not eight) */
	int base = 10;
	const char *digits = buf;
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		base = 16;
		digits = buf + 2;
		if (*digits == '\0')
			return -1;
	}
	if (*digits == '-' || *digits == '+' || *digits == ' ')
		return -1; /* strtoull would take a sign or a blank after the 0x */
	char *end;
	errno = 0;
	unsigned long long v = strtoull(digits, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

enum { SPEC_DROP, SPEC_DUP, SPEC_REORDER, SPEC_DELAY, SPEC_CORRUPT, SPEC_SEED, SPEC_NKEYS };
static const char *const spec_keys[SPEC_NKEYS] = {"drop",  "dup",     "reorder",
						  "delay", "corrupt", "seed"};

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int drv_dpdk_fault_parse(const char *spec, struct drv_dpdk_fault_spec *out, char *err,
			 size_t err_len)
{
	struct drv_dpdk_fault_spec r;
	int seen[SPEC_NKEYS] = {0};

	memset(&r, 0, sizeof(r));
	r.seed = 1;
	r.reorder_max_ns = DRV_DPDK_FAULT_REORDER_MAX_NS_DEFAULT;
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (spec == NULL)
		spec = "";

	const char *p = spec;
	while (is_space(*p))
		p++;
	if (*p == '\0') {
		*out = r;
		return 0;
	}
	for (;;) {
		const char *item = p;
		const char *item_end = strchr(p, ',');
		if (item_end == NULL)
			item_end = p + strlen(p);
		/* trim the item */
		while (item < item_end && is_space(*item))
			item++;
		const char *ie = item_end;
		while (ie > item && is_space(ie[-1]))
			ie--;
		size_t ilen = (size_t)(ie - item);
		if (ilen == 0)
			return spec_fail(err, err_len, item, 0,
					 "empty item (two commas, or a comma at an end)");
		const char *eq = memchr(item, '=', ilen);
		if (eq == NULL)
			return spec_fail(err, err_len, item, ilen, "expected key=value");
		size_t klen = (size_t)(eq - item);
		int key = -1;
		for (int k = 0; k < SPEC_NKEYS; k++)
			if (strlen(spec_keys[k]) == klen && memcmp(item, spec_keys[k], klen) == 0)
				key = k;
		if (key < 0)
			return spec_fail(err, err_len, item, ilen,
					 "unknown key (known: drop, dup, reorder, delay, corrupt, "
					 "seed)");
		if (seen[key])
			return spec_fail(err, err_len, item, ilen, "%s given twice",
					 spec_keys[key]);
		seen[key] = 1;
		const char *v = eq + 1;
		const char *colon = memchr(v, ':', (size_t)(ie - v));
		const char *pe = colon != NULL ? colon : ie;
		double prob = 0;

		if (key == SPEC_SEED) {
			if (spec_seed(v, ie, &r.seed) != 0)
				return spec_fail(err, err_len, item, ilen,
						 "seed must be an unsigned 64-bit integer "
						 "(decimal or 0x hex)");
		} else {
			if (spec_prob(v, pe, &prob) != 0)
				return spec_fail(err, err_len, item, ilen,
						 "probability must be a number in [0,1]");
			if (colon != NULL && key != SPEC_DELAY && key != SPEC_REORDER)
				return spec_fail(err, err_len, item, ilen,
						 "%s takes no time (only delay=P:T and "
						 "reorder=P[:T] do)",
						 spec_keys[key]);
			uint64_t t = 0;
			if (colon != NULL && spec_time(colon + 1, ie, &t) != 0)
				return spec_fail(err, err_len, item, ilen,
						 "time must be a positive integer with a unit "
						 "ns, us, ms or s, e.g. 200us");
			switch (key) {
			case SPEC_DROP: r.drop = prob; break;
			case SPEC_DUP: r.dup = prob; break;
			case SPEC_CORRUPT: r.corrupt = prob; break;
			case SPEC_REORDER:
				r.reorder = prob;
				if (colon != NULL)
					r.reorder_max_ns = t;
				break;
			case SPEC_DELAY:
				if (colon == NULL && prob > 0)
					return spec_fail(err, err_len, item, ilen,
							 "delay needs a time: delay=P:T, e.g. "
							 "delay=0.01:200us");
				r.delay = prob;
				r.delay_ns = t;
				break;
			default: break;
			}
		}
		if (*item_end == '\0')
			break;
		p = item_end + 1;
	}
	r.any = r.drop > 0 || r.dup > 0 || r.reorder > 0 || r.delay > 0 || r.corrupt > 0;
	*out = r;
	return 0;
}

/* ---- the generator: xoshiro256** seeded by splitmix64 (Blackman & Vigna) ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t fault_next(struct drv_dpdk_fault *f)
{
	uint64_t *s = f->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static uint64_t prob_threshold(double p)
{
	if (!(p > 0))
		return 0;
	if (p >= 1)
		return UINT64_MAX;
	double t = ldexp(p, 64);
	if (t >= 18446744073709549568.0) /* the largest double below 2^64 */
		return UINT64_MAX;
	return (uint64_t)t;
}

/* one Bernoulli trial; draws nothing when the fault is off */
static inline int fault_chance(struct drv_dpdk_fault *f, uint64_t thr)
{
	if (thr == 0)
		return 0;
	if (thr == UINT64_MAX)
		return 1;
	return fault_next(f) < thr;
}

int drv_dpdk_fault_init(struct drv_dpdk_fault *f, const struct drv_dpdk_fault_spec *spec,
			const struct drv_dpdk_fault_ops *ops, void *ctx, unsigned delay_cap)
{
	memset(f, 0, sizeof(*f));
	if (ops == NULL || ops->free == NULL || (spec->dup > 0 && ops->clone == NULL) ||
	    (spec->corrupt > 0 && ops->corrupt == NULL) ||
	    (spec->delay > 0 && (delay_cap == 0 || spec->delay_ns == 0)))
		return -EINVAL;
	f->spec = *spec;
	f->ops = *ops;
	f->ctx = ctx;
	f->thr_drop = prob_threshold(spec->drop);
	f->thr_dup = prob_threshold(spec->dup);
	f->thr_reorder = prob_threshold(spec->reorder);
	f->thr_delay = prob_threshold(spec->delay);
	f->thr_corrupt = prob_threshold(spec->corrupt);
	uint64_t x = spec->seed;
	for (int i = 0; i < 4; i++)
		f->rng[i] = splitmix64(&x);
	if (spec->delay > 0) {
		f->q = calloc(delay_cap, sizeof(*f->q));
		if (f->q == NULL)
			return -ENOMEM;
		f->q_cap = delay_cap;
	}
	return 0;
}

void drv_dpdk_fault_fini(struct drv_dpdk_fault *f)
{
	while (f->q_len > 0) {
		f->ops.free(f->ctx, f->q[f->q_head].pkt);
		f->q_head = (f->q_head + 1) % f->q_cap;
		f->q_len--;
	}
	if (f->held != NULL) {
		f->ops.free(f->ctx, f->held);
		f->held = NULL;
	}
	free(f->q);
	f->q = NULL;
	f->q_cap = 0;
}

/* Emits pkt, then the held-back packet if there is one: it has now been
 * overtaken, which is what reorder means. */
static inline unsigned fault_emit(struct drv_dpdk_fault *f, void **out, unsigned k, void *pkt)
{
	out[k++] = pkt;
	if (f->held != NULL) {
		out[k++] = f->held;
		f->held = NULL;
		f->cnt.reorder++;
	}
	return k;
}

unsigned drv_dpdk_fault_apply(struct drv_dpdk_fault *f, void *const *in, unsigned n, void **out,
			      unsigned out_cap, uint64_t now_ns)
{
	if (out_cap < drv_dpdk_fault_out_min(n))
		return 0;
	unsigned k = 0;

	/* 1. delayed packets now due, as many as fit beyond the burst's
	 * reserve (the rest stay queued: later, never lost). The reserve's
	 * extra slot covers the held packet a released one may overtake. */
	unsigned room = out_cap - drv_dpdk_fault_out_min(n);
	while (f->q_len > 0 && room > 0 && f->q[f->q_head].due_ns <= now_ns) {
		void *pkt = f->q[f->q_head].pkt;
		f->q_head = (f->q_head + 1) % f->q_cap;
		f->q_len--;
		k = fault_emit(f, out, k, pkt);
		room -= 1;
	}
	/* 2. a held packet nothing has followed for the max hold time */
	if (f->held != NULL && now_ns - f->held_ns >= f->spec.reorder_max_ns) {
		out[k++] = f->held;
		f->held = NULL;
		f->cnt.reorder_timeout++;
	}
	/* 3. the burst */
	f->cnt.in += n;
	for (unsigned i = 0; i < n; i++) {
		void *pkt = in[i];
		if (fault_chance(f, f->thr_drop)) {
			f->ops.free(f->ctx, pkt);
			f->cnt.drop++;
			continue;
		}
		if (fault_chance(f, f->thr_corrupt)) {
			if (f->ops.corrupt(f->ctx, pkt, fault_next(f)) == 0)
				f->cnt.corrupt++;
			else
				f->cnt.corrupt_fail++;
		}
		if (fault_chance(f, f->thr_dup)) {
			void *copy = f->ops.clone(f->ctx, pkt);
			if (copy != NULL) {
				f->cnt.dup++;
				k = fault_emit(f, out, k, copy);
			} else {
				f->cnt.dup_fail++;
			}
		}
		if (f->held == NULL && fault_chance(f, f->thr_reorder)) {
			f->held = pkt;
			f->held_ns = now_ns;
			continue;
		}
		if (fault_chance(f, f->thr_delay)) {
			if (f->q_len < f->q_cap) {
				unsigned tail = (f->q_head + f->q_len) % f->q_cap;
				f->q[tail].pkt = pkt;
				f->q[tail].due_ns = now_ns + f->spec.delay_ns;
				f->q_len++;
				f->cnt.delay++;
				continue;
			}
			f->cnt.delay_full++;
		}
		k = fault_emit(f, out, k, pkt);
	}
	f->cnt.out += k;
	return k;
}

unsigned drv_dpdk_fault_flush(struct drv_dpdk_fault *f, void **out, unsigned out_cap)
{
	unsigned k = 0;

	while (f->q_len > 0 && k < out_cap) {
		out[k++] = f->q[f->q_head].pkt;
		f->q_head = (f->q_head + 1) % f->q_cap;
		f->q_len--;
	}
	if (f->held != NULL && k < out_cap) {
		out[k++] = f->held;
		f->held = NULL;
	}
	f->cnt.out += k;
	return k;
}
