/*
 * bench_svg: hand-written SVG line plots for `rpcrouter-bench report`:
 * axes (linear from 0, or log10) with ticks and labels, a title, axis
 * labels, a legend, one colour per series. Output depends only on the
 * input (fixed size, fixed number formats), so a re-run diffs cleanly.
 */
#ifndef BENCH_SVG_H
#define BENCH_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_svg_series {
	const char *name;  /* legend text */
	const char *color; /* "#rrggbb" */
	size_t n;
	const double *x, *y; /* n points, x ascending */
	bool markers;	     /* a dot on every point (few points) */
};

struct bench_svg_plot {
	const char *title;
	const char *xlabel, *ylabel;
	bool xlog, ylog; /* log10 axis; values <= 0 are left out */
	bool y_unit;	 /* y is a fraction: axis fixed at [0, 1] */
	size_t nseries;
	const struct bench_svg_series *series;
};

/* Writes one complete SVG document; 0, or -1 when no series has a point
 * the axes can show (nothing is written then). */
int bench_svg_write(FILE *f, const struct bench_svg_plot *p);

/* The colour of a target: fixed for the known ones (rpcrouterd, qdrouterd,
 * rabbitmq, direct), else from a palette by the target's index. */
const char *bench_svg_color(const char *target, size_t idx);

/* "1.2M", "250k", "40", "0.5": short tick labels. */
void bench_svg_short_num(double v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
