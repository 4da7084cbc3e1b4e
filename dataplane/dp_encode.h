/* Hand-written encoders for the two performatives on the per-message path:
 * transfer and disposition. The generated table engine
 * (amqp_composite_encode) writes any composite but walks its field table
 * each time; these write the same canonical encoding (smallest forms,
 * trailing absent fields omitted, AMQP 1.0 part 1.4) in straight-line code.
 * tests/unit/dpenc checks both against each other and proton. */
#ifndef DP_ENCODE_H
#define DP_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "amqp_encode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* transfer (part 2.7.5). first: delivery-id, delivery-tag,
 * message-format and settled are written (a continuation frame carries
 * the handle and more only, part 2.6.14). tag_len <= 32. */
void dp_encode_transfer(struct amqp_wbuf *w, uint32_t handle, bool first, uint32_t delivery_id,
			const uint8_t *tag, uint32_t tag_len, uint32_t message_format,
			bool settled, bool more);

/* How many bytes longer dp_encode_transfer's output is with more = true
 * than with more = false, the other arguments the same: a first frame
 * gains the more field (and a settled placeholder when not settled), a
 * continuation the four absent fields before more and more itself. So a
 * sender can encode once with more = false, size the frame, and encode
 * again only when the message does not fit. */
static inline uint32_t dp_encode_transfer_more_bytes(bool first, bool settled)
{
	return first ? (settled ? 1u : 2u) : 5u;
}

/* disposition (part 2.7.6) for one delivery: role (true: receiver),
 * first, settled, and the delivery-state already encoded (state_len 0:
 * none). */
void dp_encode_disposition(struct amqp_wbuf *w, bool role_receiver, uint32_t first, bool settled,
			   const uint8_t *state, uint32_t state_len);

#ifdef __cplusplus
}
#endif
#endif
