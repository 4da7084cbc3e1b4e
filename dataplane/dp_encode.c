/* See dp_encode.h. */
#include "dp_encode.h"

#include <string.h>

/* uint in its smallest form: uint0 0x43, smalluint 0x52, uint 0x70
 * (part 1.6.4). Returns bytes written into p (at most 5). */
static inline uint32_t put_uint(uint8_t *p, uint32_t v)
{
	if (v == 0) {
		p[0] = 0x43;
		return 1;
	}
	if (v < 256) {
		p[0] = 0x52;
		p[1] = (uint8_t)v;
		return 2;
	}
	p[0] = 0x70;
	amqp_put_be32(p + 1, v);
	return 5;
}

/* Descriptor 0x00 smallulong code, then list8 of the count fields whose
 * bytes (len) follow at p + 6; len + 1 < 256 always holds for these. */
static inline void put_list_head(uint8_t *p, uint8_t code, uint32_t len, uint32_t count)
{
	p[0] = 0x00;
	p[1] = 0x53;
	p[2] = code;
	p[3] = 0xc0;
	p[4] = (uint8_t)(len + 1);
	p[5] = (uint8_t)count;
}

void dp_encode_transfer(struct amqp_wbuf *w, uint32_t handle, bool first, uint32_t delivery_id,
			const uint8_t *tag, uint32_t tag_len, uint32_t message_format,
			bool settled, bool more)
{
	uint8_t *o = amqp_wbuf_reserve(w, 6 + 5 + 5 + 2 + 32 + 5 + 1 + 4);
	if (o == NULL)
		return;
	uint8_t *p = o + 6;
	uint32_t count;
	p += put_uint(p, handle);
	if (first) {
		p += put_uint(p, delivery_id);
		*p++ = 0xa0; /* vbin8 */
		*p++ = (uint8_t)tag_len;
		memcpy(p, tag, tag_len);
		p += tag_len;
		p += put_uint(p, message_format);
		count = 4;
		if (settled || more) {
			*p++ = settled ? 0x41 : 0x40; /* false: absent, as the table engine */
			count = 5;
		}
	} else {
		count = 1;
		if (more) {
			*p++ = 0x40; /* delivery-id */
			*p++ = 0x40; /* delivery-tag */
			*p++ = 0x40; /* message-format */
			*p++ = 0x40; /* settled */
			count = 5;
		}
	}
	if (more) {
		*p++ = 0x41;
		count = 6;
	}
	put_list_head(o, 0x14, (uint32_t)(p - o - 6), count);
	w->p = p; /* give back what the worst case reserved and did not use */
}

void dp_encode_disposition(struct amqp_wbuf *w, bool role_receiver, uint32_t first, bool settled,
			   const uint8_t *state, uint32_t state_len)
{
	if (state_len > 200) {
		w->overflow = true; /* list8 bound; callers keep states below DP_STATE_MAX */
		return;
	}
	uint8_t *o = amqp_wbuf_reserve(w, 6 + 1 + 5 + 1 + 1 + state_len);
	if (o == NULL)
		return;
	uint8_t *p = o + 6;
	uint32_t count = 2;
	*p++ = role_receiver ? 0x41 : 0x42;
	p += put_uint(p, first);
	if (settled || state_len) {
		*p++ = 0x40; /* last: absent, = first */
		*p++ = settled ? 0x41 : 0x40;
		count = 4;
	}
	if (state_len) {
		memcpy(p, state, state_len);
		p += state_len;
		count = 5;
	}
	put_list_head(o, 0x15, (uint32_t)(p - o - 6), count);
	w->p = p;
}
