/* Shared pieces of the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * Every target starts its input with a split header that chooses how the
 * rest is cut into a segment chain, so the decoders' cross-segment paths
 * are fuzzed as well as the contiguous ones:
 *
 *   byte 0 with bit 7 set:   uniform chunks of ((b & 0x7f) % 16) + 1 bytes
 *   byte 0 with bit 7 clear: n = b % 8 explicit lengths follow (one byte
 *                            each, 0 = an empty segment); the data fills
 *                            those segments in order, the last segment
 *                            takes what is left
 *   empty input:             no data, one empty segment
 *
 * Each segment is copied into its own malloc'd block of exactly its length,
 * so AddressSanitizer reports any read past a segment's end. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "amqp_frame.h"
#include "amqp_message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The libFuzzer entry point every target defines (and replay_main.c calls). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_chain {
	struct amqp_seg *segs; /* owned, nsegs entries; each data block owned */
	size_t nsegs;
	size_t len; /* total bytes in the chain */
};

/* Consume the split header from the input and build the chain from the
 * rest of the input. Free with fuzz_chain_free. */
void fuzz_chain_make(struct fuzz_chain *ch, const uint8_t *data, size_t size);
void fuzz_chain_free(struct fuzz_chain *ch);

/* A one-segment chain holding the same bytes as ch. */
void fuzz_chain_flatten(struct fuzz_chain *flat, const struct fuzz_chain *ch);

/* Take one byte of the input (0 when the input is empty). */
static inline uint8_t fuzz_take_u8(const uint8_t **data, size_t *size)
{
	if (*size == 0)
		return 0;
	uint8_t b = **data;
	(*data)++;
	(*size)--;
	return b;
}

/* Abort with a message: a failed invariant is a finding. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__,    \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Byte equality of two views, whatever their segment layout. */
/* The diagnostic of the last decode of a target's fuzz_decode/fuzz_scan,
 * and whether two diagnostics say the same (error, position, type, field):
 * a chain and its contiguous copy must. */
extern struct amqp_diag fuzz_last_diag;
bool fuzz_diag_same(const struct amqp_diag *a, const struct amqp_diag *b);
/* Abort unless a chain's diagnostic equals its contiguous copy's. */
void fuzz_check_same_diag(const struct amqp_diag *chain, const struct amqp_diag *flat);

bool fuzz_bytes_same(const struct amqp_bytes *a, const struct amqp_bytes *b);

/* Read every byte of a view (so ASan checks its bounds) and return a hash. */
uint32_t fuzz_bytes_touch(const struct amqp_bytes *b);

/* Abort unless two decoded instances of desc hold the same fields: the
 * present mask, every scalar, the bytes of every string/symbol/binary and
 * the encoding of every '*'/map/multiple field, nested composites too. */
void fuzz_composite_check_equal(const struct amqp_composite_desc *desc, const void *a,
				const void *b);

/* Re-encode a decoded composite with the generated encoder, decode the
 * result (as a chain cut the same way as split_hint says) and check that
 * the fields are the same; then check that encoding is a fixed point. */
void fuzz_composite_roundtrip(const struct amqp_composite_desc *desc, const void *decoded,
			      uint8_t split_hint);

/* Walk a list, map or array value with amqp_iter down to max_depth,
 * touching every element's bytes. Returns true when every element at every
 * level decoded and the counts matched the bytes. */
bool fuzz_walk_value(const struct amqp_value *v, unsigned depth, unsigned max_depth);

#ifdef __cplusplus
}
#endif
#endif
