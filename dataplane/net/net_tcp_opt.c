/* TCP header and option decoding/encoding (RFC 9293 3.1, RFC 7323 2.2 and
 * 3.2, RFC 2018 2-3), and the RFC 6528 initial sequence number. */
#include <string.h>

#include "net_csum.h"
#include "net_tcp_impl.h"

int net_tcp_parse(const uint8_t *p, size_t len, struct net_tcp_hdr *h)
{
	memset(h, 0, sizeof *h);
	if (len < 20)
		return -1;
	unsigned doff = (unsigned)(p[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return -1;
	h->sport = net_get16(p);
	h->dport = net_get16(p + 2);
	h->seq = net_get32(p + 4);
	h->ack = net_get32(p + 8);
	h->flags = p[13] & 0x3f;
	h->win = net_get16(p + 14);
	h->hlen = (uint16_t)doff;
	h->data = p + doff;
	h->dlen = (uint32_t)(len - doff);
	const uint8_t *o = p + 20, *end = p + doff;
	while (o < end) {
		uint8_t kind = o[0];
		if (kind == NET_TCPOPT_EOL)
			break;
		if (kind == NET_TCPOPT_NOP) {
			o++;
			continue;
		}
		if (end - o < 2 || o[1] < 2 || o[1] > end - o) {
			h->bad_opt = true;
			break;
		}
		uint8_t olen = o[1];
		switch (kind) {
		case NET_TCPOPT_MSS:
			if (olen != 4)
				goto bad;
			h->has_mss = true;
			h->mss = net_get16(o + 2);
			break;
		case NET_TCPOPT_WS:
			if (olen != 3)
				goto bad;
			h->has_ws = true;
			h->ws = o[2];
			break;
		case NET_TCPOPT_SACK_PERM:
			if (olen != 2)
				goto bad;
			h->sack_perm = true;
			break;
		case NET_TCPOPT_TS:
			if (olen != 10)
				goto bad;
			h->has_ts = true;
			h->tsval = net_get32(o + 2);
			h->tsecr = net_get32(o + 6);
			break;
		case NET_TCPOPT_SACK:
			if (olen < 10 || (olen - 2) % 8 != 0)
				goto bad;
			for (unsigned i = 0; i < (unsigned)(olen - 2) / 8 && h->nsack < 4; i++) {
				h->sack[h->nsack].start = net_get32(o + 2 + 8 * i);
				h->sack[h->nsack].end = net_get32(o + 6 + 8 * i);
				h->nsack++;
			}
			break;
		default:
			break; /* unknown options are skipped (RFC 9293 3.2) */
		}
		o += olen;
		continue;
	bad:
		h->bad_opt = true;
		o += olen;
	}
	return 0;
}

unsigned net_tcp_opt_build(uint8_t *out, const struct net_tcp_optout *o)
{
	unsigned n = 0;
	if (o->syn) {
		out[n++] = NET_TCPOPT_MSS;
		out[n++] = 4;
		net_put16(out + n, o->mss);
		n += 2;
		if (o->sack_perm) {
			if (!o->ts) {
				out[n++] = NET_TCPOPT_NOP;
				out[n++] = NET_TCPOPT_NOP;
			}
			out[n++] = NET_TCPOPT_SACK_PERM;
			out[n++] = 2;
		}
	}
	if (o->ts) {
		if (!(o->syn && o->sack_perm)) {
			out[n++] = NET_TCPOPT_NOP;
			out[n++] = NET_TCPOPT_NOP;
		}
		out[n++] = NET_TCPOPT_TS;
		out[n++] = 10;
		net_put32(out + n, o->tsval);
		net_put32(out + n + 4, o->tsecr);
		n += 8;
	}
	if (o->syn && o->ws >= 0) {
		out[n++] = NET_TCPOPT_NOP;
		out[n++] = NET_TCPOPT_WS;
		out[n++] = 3;
		out[n++] = (uint8_t)o->ws;
	}
	if (!o->syn && o->nsack > 0) {
		unsigned k = o->nsack;
		unsigned room = (40 - n - 4) / 8; /* NOP NOP kind len */
		if (k > room)
			k = room;
		out[n++] = NET_TCPOPT_NOP;
		out[n++] = NET_TCPOPT_NOP;
		out[n++] = NET_TCPOPT_SACK;
		out[n++] = (uint8_t)(2 + 8 * k);
		for (unsigned i = 0; i < k; i++) {
			net_put32(out + n, o->sack[i].start);
			net_put32(out + n + 4, o->sack[i].end);
			n += 8;
		}
	}
	return n;
}

/* SipHash-2-4 (Aumasson & Bernstein), the keyed PRF for RFC 6528's F(). */
#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL64(v1, 13);                                                               \
		v1 ^= v0;                                                                          \
		v0 = ROTL64(v0, 32);                                                               \
		v2 += v3;                                                                          \
		v3 = ROTL64(v3, 16);                                                               \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL64(v3, 21);                                                               \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL64(v1, 17);                                                               \
		v1 ^= v2;                                                                          \
		v2 = ROTL64(v2, 32);                                                               \
	} while (0)

uint64_t net_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = (const uint8_t *)data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4-microsecond timer. */
uint32_t net_tcp_isn(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport, uint64_t now_us)
{
	uint8_t t[12];
	net_put32(t, laddr);
	net_put16(t + 4, lport);
	net_put32(t + 6, raddr);
	net_put16(t + 10, rport);
	return (uint32_t)(now_us / 4) + (uint32_t)net_siphash24(key, t, sizeof t);
}
