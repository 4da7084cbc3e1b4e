/* Internet checksum (RFC 1071), incremental update (RFC 1624 eqn. 3) and
 * the IPv4 pseudo-header for TCP (RFC 9293 3.1).
 *
 * Conventions: every value here is in HOST order and means "the 16-bit
 * big-endian word as a number". A folded checksum returned by
 * net_csum_finish() is what goes into the header with a big-endian store
 * (e.g. rte_cpu_to_be_16 or net_csum_put()). Sums are carried in a u64 so
 * no intermediate fold is needed below 2^48 bytes.
 *
 * Chains: a buffer of odd length shifts the byte lanes of everything that
 * follows; struct net_csum keeps that parity so a checksum over an iovec /
 * mbuf chain is the same as over the concatenated bytes. */
#ifndef NET_CSUM_H
#define NET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Running one's-complement sum over a byte stream. */
struct net_csum {
	uint64_t sum;
	bool odd; /* an odd number of bytes so far: next byte is a low lane */
};

static inline void net_csum_init(struct net_csum *c)
{
	c->sum = 0;
	c->odd = false;
}

/* Add len bytes. RFC 1071 4.1: sum the 16-bit big-endian words; a
 * trailing odd byte is the high half of a word padded with zero. */
static inline void net_csum_add(struct net_csum *c, const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t s = c->sum;
	if (len == 0)
		return;
	if (c->odd) {
		s += p[0];
		p++;
		len--;
		c->odd = false;
	}
	/* The bulk as native 32-bit loads (memcpy: any alignment) summed into
	 * a u64 (no carry is lost below 2^32 words): on a little-endian CPU
	 * that is the sum of byte-swapped 16-bit words, and the one's
	 * complement sum is byte-order independent (RFC 1071 2(B)), so the
	 * folded sum swapped back is the big-endian words' sum. Folding keeps
	 * the value mod 0xffff and yields 0 only for an all-zero run, so the
	 * result equals the word-by-word sum's exactly. About 4x fewer
	 * instructions than assembling each word from two bytes (this sum is
	 * taken over every TCP payload byte sent and received). */
	if (len >= 4) {
		uint64_t w = 0;
		while (len >= 16) {
			uint32_t a, b, x, y;
			memcpy(&a, p, 4);
			memcpy(&b, p + 4, 4);
			memcpy(&x, p + 8, 4);
			memcpy(&y, p + 12, 4);
			w += (uint64_t)a + b + x + y;
			p += 16;
			len -= 16;
		}
		while (len >= 4) {
			uint32_t a;
			memcpy(&a, p, 4);
			w += a;
			p += 4;
			len -= 4;
		}
		w = (w & 0xffffffffu) + (w >> 32);
		w = (w & 0xffffffffu) + (w >> 32);
		w = (w & 0xffff) + (w >> 16);
		w = (w & 0xffff) + (w >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += (uint16_t)(w << 8 | w >> 8);
#else
		s += w;
#endif
	}
	while (len >= 2) {
		s += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len) {
		s += (uint32_t)p[0] << 8;
		c->odd = true;
	}
	c->sum = s;
}

/* Add one 16-bit word (host value of a big-endian field). Only at an even
 * offset: fields are word-aligned in IP/TCP headers. */
static inline void net_csum_add16(struct net_csum *c, uint16_t w)
{
	c->sum += w;
}

static inline void net_csum_add32(struct net_csum *c, uint32_t w)
{
	c->sum += (w >> 16) + (w & 0xffff);
}

/* Fold the carries back in (end-around carry) without complementing. */
static inline uint16_t net_csum_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The checksum field value: the complement of the folded sum. */
static inline uint16_t net_csum_finish(const struct net_csum *c)
{
	return (uint16_t)~net_csum_fold(c->sum);
}

/* One contiguous buffer. Verifying a received header whose checksum field
 * is included gives 0 when it is correct. */
static inline uint16_t net_csum_buf(const void *buf, size_t len)
{
	struct net_csum c;
	net_csum_init(&c);
	net_csum_add(&c, buf, len);
	return net_csum_finish(&c);
}

/* Over an iovec-like chain (ptr, len pairs), odd lengths allowed. */
static inline uint16_t net_csum_chain(const void *const *bufs, const size_t *lens, unsigned n)
{
	struct net_csum c;
	net_csum_init(&c);
	for (unsigned i = 0; i < n; i++)
		net_csum_add(&c, bufs[i], lens[i]);
	return net_csum_finish(&c);
}

/* The IPv4 pseudo-header (RFC 9293 3.1): source, destination, zero, proto,
 * TCP length (header + data). Addresses in host order. Start a TCP checksum
 * with this then add the header and payload. */
static inline void net_csum_pseudo4(struct net_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
				    uint16_t l4_len)
{
	net_csum_add32(c, src);
	net_csum_add32(c, dst);
	net_csum_add16(c, proto);
	net_csum_add16(c, l4_len);
}

/* The folded (non-complemented) pseudo-header sum, as hardware L4 offload
 * wants in the checksum field (DPDK rte_ipv4_phdr_cksum convention). */
static inline uint16_t net_csum_pseudo4_folded(uint32_t src, uint32_t dst, uint8_t proto,
					       uint16_t l4_len)
{
	struct net_csum c;
	net_csum_init(&c);
	net_csum_pseudo4(&c, src, dst, proto, l4_len);
	return net_csum_fold(c.sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when a 16-bit field changes from
 * old to new. Eqn. 3, not RFC 1141's HC' = HC + m - m', which can yield
 * -0 (0xffff vs 0x0000) differently from a full recomputation. */
static inline uint16_t net_csum_update16(uint16_t hc, uint16_t old_w, uint16_t new_w)
{
	uint64_t s = (uint16_t)~hc;
	s += (uint16_t)~old_w;
	s += new_w;
	return (uint16_t)~net_csum_fold(s);
}

static inline uint16_t net_csum_update32(uint16_t hc, uint32_t old_w, uint32_t new_w)
{
	hc = net_csum_update16(hc, (uint16_t)(old_w >> 16), (uint16_t)(new_w >> 16));
	return net_csum_update16(hc, (uint16_t)old_w, (uint16_t)new_w);
}

/* Big-endian loads/stores for header fields (alignment-free). */
static inline uint16_t net_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t net_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void net_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#ifdef __cplusplus
}
#endif

#endif /* NET_CSUM_H */
