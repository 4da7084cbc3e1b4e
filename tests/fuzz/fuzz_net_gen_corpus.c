/* Seed corpus of fuzz_net_frame (tests/fuzz/fuzz_net_frame.c): a few valid
 * exchanges of each kind, in that target's record format. Run by hand:
 *   build/tests/fuzz/fuzz_net_gen_corpus tests/fuzz/corpus/net_frame
 * Frames are written byte by byte from the RFC layouts (not with the code
 * under test), checksums with net_csum.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_csum.h"

struct gen {
	uint8_t b[8192];
	size_t n;
};

static void g_u8(struct gen *g, uint8_t v)
{
	if (g->n < sizeof g->b)
		g->b[g->n++] = v;
}

static void g_u16(struct gen *g, uint16_t v)
{
	g_u8(g, (uint8_t)(v >> 8));
	g_u8(g, (uint8_t)v);
}

static void g_u32(struct gen *g, uint32_t v)
{
	g_u16(g, (uint16_t)(v >> 16));
	g_u16(g, (uint16_t)v);
}

static void g_bytes(struct gen *g, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_u8(g, p[i]);
}

static const uint8_t US[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t PEER[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t GW[6] = {2, 0, 0, 0, 0, 0xfe};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ZERO[6] = {0};
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
static const uint32_t OUR = IP(10, 0, 0, 1), PEER_IP = IP(10, 0, 0, 2), GW_IP = IP(10, 0, 0, 254);

/* A frame record: op 0 (4: to the second interface), 2-byte
 * little-endian length, the frame. */
static void rec_frame_op(struct gen *g, const struct gen *f, uint8_t op)
{
	g_u8(g, op);
	g_u8(g, (uint8_t)f->n);
	g_u8(g, (uint8_t)(f->n >> 8));
	g_bytes(g, f->b, f->n);
}

static void rec_frame(struct gen *g, const struct gen *f)
{
	rec_frame_op(g, f, 0);
}

static void eth(struct gen *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	f->n = 0;
	g_bytes(f, dst, 6);
	g_bytes(f, src, 6);
	g_u16(f, type);
}

static void arp(struct gen *f, const uint8_t *edst, const uint8_t *esrc, uint16_t op,
		const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	eth(f, edst, esrc, 0x0806);
	g_u16(f, 1);
	g_u16(f, 0x0800);
	g_u8(f, 6);
	g_u8(f, 4);
	g_u16(f, op);
	g_bytes(f, sha, 6);
	g_u32(f, spa);
	g_bytes(f, tha, 6);
	g_u32(f, tpa);
}

/* IPv4 frame from PEER to US with payload p (n bytes) */
static void ipv4(struct gen *f, uint32_t src, uint32_t dst, uint8_t proto, uint16_t frag,
		 const uint8_t *p, size_t n)
{
	eth(f, US, PEER, 0x0800);
	size_t h = f->n;
	g_u8(f, 0x45);
	g_u8(f, 0);
	g_u16(f, (uint16_t)(20 + n));
	g_u16(f, 0x4242);
	g_u16(f, frag);
	g_u8(f, 64);
	g_u8(f, proto);
	g_u16(f, 0);
	g_u32(f, src);
	g_u32(f, dst);
	net_put16(f->b + h + 10, net_csum_buf(f->b + h, 20));
	g_bytes(f, p, n);
}

static size_t echo(uint8_t *m, uint16_t id, uint16_t seq, size_t datalen)
{
	m[0] = 8;
	m[1] = 0;
	m[2] = m[3] = 0;
	net_put16(m + 4, id);
	net_put16(m + 6, seq);
	for (size_t i = 0; i < datalen; i++)
		m[8 + i] = (uint8_t)i;
	net_put16(m + 2, net_csum_buf(m, 8 + datalen));
	return 8 + datalen;
}

static int write_seed(const char *dir, const char *name, const struct gen *g)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/seed-%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (fp == NULL || fwrite(g->b, 1, g->n, fp) != g->n) {
		perror(path);
		if (fp)
			fclose(fp);
		return -1;
	}
	return fclose(fp);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	struct gen g, f;
	uint8_t m[1600];
	int rc = 0;

	/* ARP request for us, then echo request (answered at once) */
	g.n = 0;
	g_u8(&g, 0);
	arp(&f, BCAST, PEER, 1, PEER, PEER_IP, ZERO, OUR);
	rec_frame(&g, &f);
	ipv4(&f, PEER_IP, OUR, 1, 0x4000, m, echo(m, 0x77, 1, 56));
	rec_frame(&g, &f);
	rc |= write_seed(dir, "arp-request-then-ping", &g);

	/* ping from an unresolved peer: our reply waits for ARP, the reply comes */
	g.n = 0;
	g_u8(&g, 0);
	ipv4(&f, PEER_IP, OUR, 1, 0x4000, m, echo(m, 1, 2, 7));
	rec_frame(&g, &f);
	arp(&f, US, PEER, 2, PEER, PEER_IP, US, OUR);
	rec_frame(&g, &f);
	rc |= write_seed(dir, "ping-unresolved-then-arp-reply", &g);

	/* TCP SYN for us (after start: announcements), then a port unreachable */
	g.n = 0;
	g_u8(&g, 8);
	arp(&f, US, PEER, 2, PEER, PEER_IP, US, OUR);
	rec_frame(&g, &f);
	{
		uint8_t syn[20] = {0x9c, 0x40, 0x16, 0x28, 0,	 0,    0,    1,
				   0,	 0,    0,    0,	   0x50, 0x02, 0xff, 0xff};
		ipv4(&f, PEER_IP, OUR, 6, 0x4000, syn, sizeof syn);
	}
	rec_frame(&g, &f);
	g_u8(&g, 3);
	rc |= write_seed(dir, "tcp-syn-unreach", &g);

	/* output to a peer and off-link (gateway), retries, failure, then answers */
	g.n = 0;
	g_u8(&g, 0);
	g_u8(&g, 2 | 4);
	g_u8(&g, 2);
	g_u8(&g, 10);
	g_u8(&g, 2);
	g_u8(&g, 7);
	g_u8(&g, 20);
	g_u8(&g, 1 | (25 << 2)); /* 1.25 s */
	g_u8(&g, 1 | (25 << 2));
	g_u8(&g, 1 | (25 << 2));
	g_u8(&g, 1 | (25 << 2));
	arp(&f, US, GW, 2, GW, GW_IP, US, OUR);
	rec_frame(&g, &f);
	g_u8(&g, 2);
	g_u8(&g, 9);
	g_u8(&g, 30);
	rc |= write_seed(dir, "output-retry-fail-gateway", &g);

	/* conflict: someone announces our address, twice */
	g.n = 0;
	g_u8(&g, 8);
	arp(&f, BCAST, PEER, 1, PEER, OUR, ZERO, OUR);
	rec_frame(&g, &f);
	g_u8(&g, 1 | (40 << 2));
	rec_frame(&g, &f);
	rc |= write_seed(dir, "arp-conflict", &g);

	/* a fragment, a VLAN frame, IPv6, a broadcast ping, options */
	g.n = 0;
	g_u8(&g, 1);
	ipv4(&f, PEER_IP, OUR, 6, 0x2000, m, 24);
	rec_frame(&g, &f);
	eth(&f, US, PEER, 0x8100);
	g_u16(&f, 7);
	g_u16(&f, 0x0800);
	g_bytes(&f, m, 40);
	rec_frame(&g, &f);
	eth(&f, US, PEER, 0x86dd);
	g_bytes(&f, m, 40);
	rec_frame(&g, &f);
	ipv4(&f, PEER_IP, IP(10, 0, 0, 255), 1, 0, m, echo(m, 3, 3, 8));
	rec_frame(&g, &f);
	eth(&f, US, PEER, 0x0800);
	{
		size_t h = f.n;
		uint8_t opt[4] = {0x94, 4, 0, 0};
		g_u8(&f, 0x46);
		g_u8(&f, 0);
		g_u16(&f, 24 + 20);
		g_u16(&f, 1);
		g_u16(&f, 0x4000);
		g_u8(&f, 1);
		g_u8(&f, 6);
		g_u16(&f, 0);
		g_u32(&f, IP(192, 168, 7, 1));
		g_u32(&f, IP(192, 168, 7, 0));
		g_bytes(&f, opt, 4);
		net_put16(f.b + h + 10, net_csum_buf(f.b + h, 24));
		g_bytes(&f, m, 20);
	}
	rec_frame(&g, &f);
	rc |= write_seed(dir, "drops-and-options", &g);

	/* the second interface (config bit 5; weak end system), no gateway on
	 * the first: a ping and a SYN to its address 10.9.0.1 taken on the
	 * first, output off-link handed to the second (ARP for its gateway,
	 * answered there), and to a peer on the second's subnet */
	g.n = 0;
	g_u8(&g, 32 | 2);
	arp(&f, US, PEER, 2, PEER, PEER_IP, US, OUR);
	rec_frame(&g, &f);
	ipv4(&f, PEER_IP, IP(10, 9, 0, 1), 1, 0x4000, m, echo(m, 9, 1, 16));
	rec_frame(&g, &f);
	{
		uint8_t syn[20] = {0x9c, 0x41, 0x16, 0x28, 0,	 0,    0,    1,
				   0,	 0,    0,    0,	   0x50, 0x02, 0xff, 0xff};
		ipv4(&f, PEER_IP, IP(10, 9, 0, 1), 6, 0x4000, syn, sizeof syn);
	}
	rec_frame(&g, &f);
	g_u8(&g, 2);
	g_u8(&g, 7);
	g_u8(&g, 20);
	{
		static const uint8_t US2[6] = {2, 0, 0, 0, 0, 3}, GW2[6] = {2, 0, 0, 0, 0, 0xfd};
		arp(&f, US2, GW2, 2, GW2, IP(10, 9, 0, 254), US2, IP(10, 9, 0, 1));
	}
	rec_frame_op(&g, &f, 4);
	g_u8(&g, 2 | 8);
	g_u8(&g, 5);
	g_u8(&g, 30);
	rc |= write_seed(dir, "weak-host-second-interface", &g);
	return rc ? 1 : 0;
}
