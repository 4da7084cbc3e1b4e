/* The driver of fuzz_bench_amqp (tests/fuzz/fuzz_bench_amqp.c): one
 * rpcrouter-bench AMQP engine (bench/bench_amqp.h) configured from a byte,
 * acting as a generator would from its callbacks (attach, send on credit,
 * settle), fed bytes chunk by chunk with its output pumped. Shared with the
 * seed generator (fuzz_bench_amqp_gen_corpus.c), which runs the same
 * driver against a real peer and records what the driver was given, so a
 * seed replays the same conversation.
 *
 * Input of the target:
 *   byte 0  config: bit 0 role (0 client, 1 server); bits 1-2 SASL (0 none,
 *           1 ANONYMOUS, 2 PLAIN, 3 none); bit 3 want_properties; bit 4
 *           peer_link_manual_settle; bit 5 max-frame-size 512 (else
 *           default); bit 6 idle-time-out 1000 ms; bit 7 our sender is
 *           pre-settled (client role)
 *   byte 1  chunking: bit 7 set: chunks of (b & 0x7f) + 1 bytes; clear:
 *           n = b & 7 chunk sizes follow (one byte each, size = byte + 1,
 *           used in turn); n = 0: the whole stream in one input call
 *   byte 2  pump: bits 0-1 how much output is taken after each chunk (0
 *           all, 1 half, 2 one byte, 3 all); bits 2-4 time step per chunk
 *           {0, 1, 10, 100, 600, 1000, 5000, 0} ms (ticks fire heartbeats
 *           and idle time-outs); bit 5: bench_amqp_close half-way;
 *           bit 6: a detach of link 0 half-way; bit 7: the driver's
 *           messages have a 1500-byte body (several frames when the peer's
 *           max-frame-size is 512)
 *   rest    the byte stream the engine receives.
 */
#ifndef FUZZ_BENCH_AMQP_H
#define FUZZ_BENCH_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_amqp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fb_drv {
	struct bench_amqp_conn *c;
	uint8_t cfg_byte;
	bool server;
	int sender, recv, dyn_recv;	   /* client's link indexes, -1: none */
	bool manual[BENCH_AMQP_MAX_LINKS]; /* receivers settled by the driver */
	unsigned sends, msgs, settles, closes, outcome;
	uint64_t now;
	struct bench_amqp_tpl tpl;
	int closed_events;
};

/* A new engine for cfg_byte and pump_byte (client: started, links
 * attached). */
void fb_drv_init(struct fb_drv *d, uint8_t cfg_byte, uint8_t pump_byte);
/* One chunk of received bytes at time now (ms); false once closed. */
bool fb_drv_feed(struct fb_drv *d, const uint8_t *p, size_t n, uint64_t now);
/* The engine's output (for the peer, or to throw away). */
const uint8_t *fb_drv_output(struct fb_drv *d, size_t *n);
void fb_drv_output_done(struct fb_drv *d, size_t n);
void fb_drv_fini(struct fb_drv *d);

#ifdef __cplusplus
}
#endif
#endif
