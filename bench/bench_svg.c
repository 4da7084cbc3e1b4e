/*
 * bench_svg: line plots as plain SVG 1.1 (see bench_svg.h).
 */
#include "bench_svg.h"

#include <math.h>
#include <string.h>

#define SVG_W	      720
#define SVG_H	      440
#define SVG_LEFT      84
#define SVG_RIGHT     190 /* room for the legend */
#define SVG_TOP	      44
#define SVG_BOTTOM    62
#define SVG_MAX_TICKS 40

struct bench_svg_axis {
	bool log;
	double lo, hi; /* value range (log axes: powers of ten) */
	double tick[SVG_MAX_TICKS];
	bool major[SVG_MAX_TICKS]; /* labelled */
	int nticks;
};

const char *bench_svg_color(const char *target, size_t idx)
{
	/* Fixed colours for the targets compare.sh knows, so every report
	 * shows rpcrouterd in the same blue. */
	static const struct {
		const char *name, *color;
	} known[] = {
	    {"rpcrouterd", "#1f77b4"},
	    {"qdrouterd", "#ff7f0e"},
	    {"rabbitmq", "#2ca02c"},
	    {"direct", "#7f7f7f"},
	};
	static const char *const palette[] = {
	    "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (target && strcmp(target, known[i].name) == 0)
			return known[i].color;
	return palette[idx % (sizeof(palette) / sizeof(palette[0]))];
}

void bench_svg_short_num(double v, char *buf, size_t len)
{
	double a = fabs(v);
	if (a >= 1e9)
		snprintf(buf, len, "%.3gG", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (a >= 1e3)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else
		snprintf(buf, len, "%.3g", v);
}

static void bench_svg_text_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* 1, 2 or 5 times a power of ten, >= raw. */
static double bench_svg_nice_step(double raw)
{
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	if (m <= 1.0 + 1e-9)
		return p;
	if (m <= 2.0 + 1e-9)
		return 2 * p;
	if (m <= 5.0 + 1e-9)
		return 5 * p;
	return 10 * p;
}

static void bench_svg_axis_linear(struct bench_svg_axis *ax, double max, bool unit)
{
	ax->log = false;
	ax->lo = 0;
	if (unit) {
		ax->hi = 1;
	} else {
		if (!(max > 0))
			max = 1;
		double step = bench_svg_nice_step(max / 5);
		ax->hi = ceil(max / step - 1e-9) * step;
		if (ax->hi < max)
			ax->hi += step;
	}
	double step = unit ? 0.2 : bench_svg_nice_step(ax->hi / 5);
	ax->nticks = 0;
	for (int i = 0; ax->nticks < SVG_MAX_TICKS; i++) {
		double t = i * step;
		if (t > ax->hi * (1 + 1e-9))
			break;
		ax->tick[ax->nticks] = t;
		ax->major[ax->nticks] = true;
		ax->nticks++;
	}
}

static void bench_svg_axis_log(struct bench_svg_axis *ax, double min, double max)
{
	ax->log = true;
	int d0 = (int)floor(log10(min) + 1e-9), d1 = (int)ceil(log10(max) - 1e-9);
	if (d1 <= d0)
		d1 = d0 + 1;
	ax->lo = pow(10, d0);
	ax->hi = pow(10, d1);
	/* Few decades: label 2 and 5 too, so a narrow range still reads. */
	bool label_mid = d1 - d0 <= 2;
	ax->nticks = 0;
	for (int d = d0; d <= d1 && ax->nticks < SVG_MAX_TICKS; d++) {
		for (int m = 1; m <= 9 && ax->nticks < SVG_MAX_TICKS; m++) {
			if (d == d1 && m > 1)
				break;
			ax->tick[ax->nticks] = m * pow(10, d);
			ax->major[ax->nticks] = m == 1 || (label_mid && (m == 2 || m == 5));
			ax->nticks++;
		}
	}
}

static double bench_svg_frac(const struct bench_svg_axis *ax, double v)
{
	if (ax->log)
		return (log10(v) - log10(ax->lo)) / (log10(ax->hi) - log10(ax->lo));
	return (v - ax->lo) / (ax->hi - ax->lo);
}

static bool bench_svg_usable(const struct bench_svg_plot *p, double x, double y)
{
	if (!isfinite(x) || !isfinite(y))
		return false;
	if ((p->xlog && x <= 0) || (p->ylog && y <= 0))
		return false;
	return true;
}

int bench_svg_write(FILE *f, const struct bench_svg_plot *p)
{
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
	size_t points = 0;
	for (size_t s = 0; s < p->nseries; s++) {
		const struct bench_svg_series *se = &p->series[s];
		for (size_t i = 0; i < se->n; i++) {
			if (!bench_svg_usable(p, se->x[i], se->y[i]))
				continue;
			points++;
			xmin = fmin(xmin, se->x[i]);
			xmax = fmax(xmax, se->x[i]);
			ymin = fmin(ymin, se->y[i]);
			ymax = fmax(ymax, se->y[i]);
		}
	}
	if (!points)
		return -1;
	struct bench_svg_axis xa, ya;
	if (p->xlog)
		bench_svg_axis_log(&xa, xmin, xmax);
	else
		bench_svg_axis_linear(&xa, xmax, false);
	if (p->ylog)
		bench_svg_axis_log(&ya, ymin, ymax);
	else
		bench_svg_axis_linear(&ya, ymax, p->y_unit);

	const double pw = SVG_W - SVG_LEFT - SVG_RIGHT, ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	const double x0 = SVG_LEFT, y0 = SVG_TOP + ph;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
		"font-size=\"12\">\n",
		SVG_W, SVG_H, SVG_W, SVG_H);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_W,
		SVG_H);
	fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">",
		(int)(x0 + pw / 2));
	bench_svg_text_escaped(f, p->title);
	fprintf(f, "</text>\n");

	/* Grid and ticks. */
	fprintf(f, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
	for (int i = 0; i < xa.nticks; i++) {
		if (!xa.major[i])
			continue;
		double x = x0 + bench_svg_frac(&xa, xa.tick[i]) * pw;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y0, x,
			y0 - ph);
	}
	for (int i = 0; i < ya.nticks; i++) {
		if (!ya.major[i])
			continue;
		double y = y0 - bench_svg_frac(&ya, ya.tick[i]) * ph;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y,
			x0 + pw, y);
	}
	fprintf(f, "</g>\n");
	fprintf(f, "<g stroke=\"#000000\" stroke-width=\"1\">\n");
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x0 + pw,
		y0);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x0,
		y0 - ph);
	for (int i = 0; i < xa.nticks; i++) {
		double x = x0 + bench_svg_frac(&xa, xa.tick[i]) * pw;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y0, x,
			y0 + (xa.major[i] ? 6 : 3));
	}
	for (int i = 0; i < ya.nticks; i++) {
		double y = y0 - bench_svg_frac(&ya, ya.tick[i]) * ph;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y,
			x0 - (ya.major[i] ? 6 : 3), y);
	}
	fprintf(f, "</g>\n<g fill=\"#000000\">\n");
	char num[32];
	for (int i = 0; i < xa.nticks; i++) {
		if (!xa.major[i])
			continue;
		bench_svg_short_num(xa.tick[i], num, sizeof(num));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			x0 + bench_svg_frac(&xa, xa.tick[i]) * pw, y0 + 20, num);
	}
	for (int i = 0; i < ya.nticks; i++) {
		if (!ya.major[i])
			continue;
		if (p->y_unit)
			snprintf(num, sizeof(num), "%.1f", ya.tick[i]);
		else
			bench_svg_short_num(ya.tick[i], num, sizeof(num));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 9,
			y0 - bench_svg_frac(&ya, ya.tick[i]) * ph + 4, num);
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x0 + pw / 2,
		(double)SVG_H - 18);
	bench_svg_text_escaped(f, p->xlabel);
	fprintf(f, "</text>\n");
	fprintf(f,
		"<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %.1f)\">",
		y0 - ph / 2, y0 - ph / 2);
	bench_svg_text_escaped(f, p->ylabel);
	fprintf(f, "</text>\n</g>\n");

	/* Series, then the legend in the same order. */
	for (size_t s = 0; s < p->nseries; s++) {
		const struct bench_svg_series *se = &p->series[s];
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			se->color);
		bool first = true;
		for (size_t i = 0; i < se->n; i++) {
			if (!bench_svg_usable(p, se->x[i], se->y[i]))
				continue;
			fprintf(f, "%s%.1f,%.1f", first ? "" : " ",
				x0 + bench_svg_frac(&xa, se->x[i]) * pw,
				y0 - bench_svg_frac(&ya, se->y[i]) * ph);
			first = false;
		}
		fprintf(f, "\"/>\n");
		if (!se->markers)
			continue;
		fprintf(f, "<g fill=\"%s\">\n", se->color);
		for (size_t i = 0; i < se->n; i++) {
			if (!bench_svg_usable(p, se->x[i], se->y[i]))
				continue;
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n",
				x0 + bench_svg_frac(&xa, se->x[i]) * pw,
				y0 - bench_svg_frac(&ya, se->y[i]) * ph);
		}
		fprintf(f, "</g>\n");
	}
	double lx = x0 + pw + 16, ly = SVG_TOP + 8;
	fprintf(f,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#ffffff\" "
		"stroke=\"#999999\"/>\n",
		lx, ly, SVG_RIGHT - 28, 12.0 + 20.0 * (double)p->nseries);
	for (size_t s = 0; s < p->nseries; s++) {
		double y = ly + 16 + 20.0 * (double)s;
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"3\"/>\n",
			lx + 8, y, lx + 30, y, p->series[s].color);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", lx + 36, y + 4);
		bench_svg_text_escaped(f, p->series[s].name);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
	return 0;
}
