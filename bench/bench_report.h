/*
 * bench_report: `rpcrouter-bench report`, the side-by-side renderer of
 * rpcrouter-bench result lines (/work/briefs/bench_json.md, schema 1).
 *
 *   rpcrouter-bench report [--md OUT.md] [--img-dir DIR] [--img-ref PREFIX]
 *                          [--title T] RESULTS.jsonl...
 *
 * Reads every line of every file (strict JSON; a bad line is an error
 * naming file:line), groups the runs by scenario and by their parameters
 * (all of "params" but the per-target addressing keys: address, reply_to,
 * and the like; see docs/bench.md), and writes markdown: the machine
 * description, then one table per scenario with the targets as columns,
 * and, with --img-dir, SVG plots for the data present (latency CDF of rpc
 * and handshake; throughput and fanout msg/s vs body size, senders,
 * connections), linked from the markdown by PREFIX/NAME.svg (PREFIX
 * default: DIR relative to OUT.md's folder). A line
 *   {"na": {"target": T, "scenario": S, "params": {...}, "reason": R}}
 * marks cells T cannot run: "n/a" instead of "–" (not run); "params"
 * (optional) is matched as a subset of a row's parameters.
 *
 * Output is sorted and carries no time of its own, so a re-run on the same
 * results is byte-identical.
 *
 * Sources: bench_report.c, bench_json_read.c, bench_svg.c; meson variable
 * `bench_report_sources` in bench/meson.build.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#ifdef __cplusplus
extern "C" {
#endif

/* argv[0] is "report" (or the program name); returns the exit code:
 * 0 done, 1 an input or output error (message on stderr), 2 usage. */
int bench_report_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
