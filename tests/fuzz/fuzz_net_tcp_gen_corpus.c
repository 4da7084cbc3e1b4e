/* Seed corpus of fuzz_net_tcp (tests/fuzz/fuzz_net_tcp.c): valid exchanges
 * in that target's record format (handshakes with and without options,
 * data both ways, loss and timers, close from either side, RST, active
 * open, SACK, zero window, raw and decoder-only segments). Run by hand:
 *   build/tests/fuzz/fuzz_net_tcp_gen_corpus tests/fuzz/corpus/net_tcp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen {
	uint8_t b[4096];
	size_t n;
};

static void g_u8(struct gen *g, unsigned v)
{
	if (g->n < sizeof g->b)
		g->b[g->n++] = (uint8_t)v;
}

static void g_le16(struct gen *g, unsigned v)
{
	g_u8(g, v & 0xff);
	g_u8(g, (v >> 8) & 0xff);
}

/* TCP header flags (RFC 9293 3.1) */
enum { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10 };
/* op bits of a crafted segment: which send variable the ack is relative to */
enum { ACK_UNA = 0, ACK_NXT = 0x20, ACK_MAX = 0x40 };
/* the options byte */
enum { OPT_TS = 0x80, OPT_MSS = 0x40, OPT_SACK = 0x20 };

/* op 0: crafted segment from peer k */
static void seg(struct gen *g, unsigned k, unsigned ackrel, unsigned flags, int seqd, int ackd,
		unsigned win, unsigned opts, const uint8_t *raw, unsigned nraw, unsigned dlen8)
{
	g_u8(g, 0 | (k << 3) | ackrel);
	g_u8(g, flags);
	g_le16(g, (unsigned)seqd & 0xffff);
	g_le16(g, (unsigned)ackd & 0xffff);
	g_le16(g, win);
	g_u8(g, opts | nraw);
	for (unsigned i = 0; i < nraw; i++)
		g_u8(g, raw[i]);
	g_u8(g, dlen8);
}

/* op 0 with an aimed SACK block [SND.UNA + a*64, + (b+1)*64) and TS */
static void seg_sack(struct gen *g, unsigned k, unsigned a, unsigned b)
{
	g_u8(g, 0 | (k << 3) | ACK_UNA);
	g_u8(g, A);
	g_le16(g, 0);
	g_le16(g, 0);
	g_le16(g, 65535);
	g_u8(g, OPT_TS | OPT_SACK);
	g_u8(g, a);
	g_u8(g, b);
	g_u8(g, 0);
}

/* op 2: time; b as in the target */
static void wait(struct gen *g, unsigned b)
{
	g_u8(g, 2);
	g_u8(g, b);
}
#define MS(n)	(0x20 | (n)) /* n ms, n < 32 */
#define S100(n) (0x40 | (n)) /* n x 100 ms */

static void app_send(struct gen *g, unsigned k, unsigned len37)
{
	g_u8(g, 3 | (k << 3));
	g_u8(g, len37);
}

static void app_act(struct gen *g, unsigned k, unsigned a, unsigned b)
{
	g_u8(g, 4 | (k << 3));
	g_u8(g, a);
	g_u8(g, b);
}

static void app_connect(struct gen *g, unsigned k, unsigned port_off)
{
	g_u8(g, 5 | (k << 3));
	g_u8(g, port_off);
}

static void policy(struct gen *g, unsigned p)
{
	g_u8(g, 7);
	g_u8(g, p);
}

/* the peer's SYN with every option, then the ACK of the SYN-ACK */
static void handshake(struct gen *g, unsigned k, int opts)
{
	static const uint8_t ws_sackok[] = {1, 3, 3, 7, 1, 1, 4, 2};
	if (opts)
		seg(g, k, 0, S, 0, 0, 65535, OPT_TS | OPT_MSS, ws_sackok, sizeof ws_sackok, 0);
	else
		seg(g, k, 0, S, 0, 0, 65535, 0, NULL, 0, 0);
	seg(g, k, ACK_NXT, A, 0, 0, 65535, opts ? OPT_TS : 0, NULL, 0, 0);
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
		return 1;
	}
	return fclose(fp) != 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	struct gen g;
	int rc = 0;

	/* handshake, data in, data out acked, peer closes, we close */
	for (unsigned conf = 0; conf < 2; conf++) {
		memset(&g, 0, sizeof g);
		g_u8(&g, conf ? 0x10 : 0);
		handshake(&g, 0, 1);
		seg(&g, 0, ACK_NXT, P | A, 0, 0, 65535, OPT_TS, NULL, 0, 100);
		seg(&g, 0, ACK_NXT, P | A, 0, 0, 65535, OPT_TS, NULL, 0, 100);
		wait(&g, MS(30));
		wait(&g, MS(20));
		app_send(&g, 0, 100);
		seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
		seg(&g, 0, ACK_NXT, F | A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
		app_act(&g, 0, 0, 0);
		seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
		wait(&g, 0x60 | 10);
		rc |= write_seed(dir, conf ? "small-data-close" : "data-close", &g);
	}

	/* no options at all, we close first (FIN-WAIT-1/2, TIME-WAIT) */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0x07);
	handshake(&g, 1, 0);
	app_send(&g, 1, 10);
	app_act(&g, 1, 0, 0);
	seg(&g, 1, ACK_NXT, A, 0, 0, 8192, 0, NULL, 0, 0);
	seg(&g, 1, ACK_NXT, F | A, 0, 0, 8192, 0, NULL, 0, 0);
	wait(&g, 0x60 | 31);
	rc |= write_seed(dir, "noopts-active-close", &g);

	/* loss: our data unacked, the RTO fires and backs off; dup ACKs and a
	 * SACK block trigger fast retransmit */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	handshake(&g, 0, 1);
	app_send(&g, 0, 200);
	wait(&g, S100(12));
	wait(&g, S100(25));
	{
		/* SACK option: NOP NOP kind 5 len 10, block rel. to nothing (raw) */
		static const uint8_t sack[] = {1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0};
		for (int i = 0; i < 4; i++)
			seg(&g, 0, ACK_UNA, A, 0, 0, 65535, OPT_TS, sack, sizeof sack, 0);
	}
	seg(&g, 0, ACK_UNA, A, 0, 1460, 65535, OPT_TS, NULL, 0, 0);
	seg(&g, 0, ACK_MAX, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
	rc |= write_seed(dir, "rto-fast-rexmit", &g);

	/* SACK from the peer: our flight with a hole at SND.UNA, three dup
	 * ACKs each SACKing more, fast retransmit and recovery, then all acked */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	handshake(&g, 0, 1);
	app_send(&g, 0, 255);
	seg_sack(&g, 0, 23, 22);
	seg_sack(&g, 0, 23, 45);
	seg_sack(&g, 0, 23, 68);
	seg_sack(&g, 0, 92, 10);
	seg(&g, 0, ACK_UNA, A, 0, 1460, 65535, OPT_TS, NULL, 0, 0);
	seg(&g, 0, ACK_MAX, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
	rc |= write_seed(dir, "sack-recovery", &g);

	/* the application calling back from inside the stack's callbacks */
	for (unsigned pol = 4; pol < 8; pol++) {
		char name[32];
		memset(&g, 0, sizeof g);
		g_u8(&g, 0);
		policy(&g, pol);
		handshake(&g, 0, 1);
		app_send(&g, 0, 30);
		seg(&g, 0, ACK_NXT, P | A, 0, 0, 65535, OPT_TS, NULL, 0, 40);
		seg(&g, 0, ACK_NXT, F | A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
		seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
		wait(&g, S100(10));
		snprintf(name, sizeof name, "callback-policy-%u", pol);
		rc |= write_seed(dir, name, &g);
	}

	/* out of order data in: a hole, then the fill; the app takes half */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	handshake(&g, 2, 1);
	policy(&g, 1);
	seg(&g, 2, ACK_NXT, A, 1000, 0, 65535, OPT_TS, NULL, 0, 60);
	seg(&g, 2, ACK_NXT, A, 2000, 0, 65535, OPT_TS, NULL, 0, 60);
	seg(&g, 2, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 125);
	policy(&g, 0);
	app_act(&g, 2, 2, 64);
	seg(&g, 2, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 200);
	rc |= write_seed(dir, "ooo-fill", &g);

	/* zero window from the peer: persist probes */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	handshake(&g, 0, 1);
	seg(&g, 0, ACK_NXT, A, 0, 0, 0, OPT_TS, NULL, 0, 0);
	app_send(&g, 0, 50);
	wait(&g, S100(15));
	wait(&g, S100(31));
	seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
	rc |= write_seed(dir, "zero-window", &g);

	/* our receive window closes (app takes nothing), the peer probes */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0x10);
	handshake(&g, 0, 1);
	policy(&g, 2);
	for (int i = 0; i < 6; i++)
		seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 128);
	policy(&g, 0);
	app_act(&g, 0, 2, 32);
	seg(&g, 0, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 1);
	rc |= write_seed(dir, "rcv-window-closed", &g);

	/* RST in window, out of window (challenge ACK), SYN on an open conn */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	handshake(&g, 0, 1);
	seg(&g, 0, ACK_NXT, R, 5, 0, 0, 0, NULL, 0, 0);
	seg(&g, 0, ACK_NXT, S, 0, 0, 65535, 0, NULL, 0, 0);
	seg(&g, 0, ACK_NXT, R, 0, 0, 0, 0, NULL, 0, 0);
	handshake(&g, 1, 1);
	seg(&g, 1, ACK_NXT, R | A, 0, 0, 0, 0, NULL, 0, 0);
	rc |= write_seed(dir, "rst-cases", &g);

	/* active open: SYN-ACK from the peer, data both ways, abort */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	app_connect(&g, 3, 7);
	seg(&g, 3, ACK_NXT, S | A, 0, 0, 65535, OPT_TS | OPT_MSS, NULL, 0, 0);
	app_send(&g, 3, 40);
	seg(&g, 3, ACK_NXT, P | A, 0, 0, 65535, OPT_TS, NULL, 0, 20);
	app_act(&g, 3, 1, 0);
	/* a connect nobody answers: SYN retries to the timeout */
	app_connect(&g, 2, 9);
	for (int i = 0; i < 8; i++)
		wait(&g, 0x60 | 31);
	rc |= write_seed(dir, "active-open", &g);

	/* keepalive, FIN-WAIT-2 timeout, short TIME-WAIT (conf bit 5) */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0x20);
	handshake(&g, 0, 1);
	wait(&g, S100(25));
	wait(&g, S100(10));
	wait(&g, S100(10));
	handshake(&g, 1, 1);
	app_act(&g, 1, 0, 0);
	seg(&g, 1, ACK_NXT, A, 0, 0, 65535, OPT_TS, NULL, 0, 0);
	wait(&g, S100(31));
	wait(&g, S100(31));
	rc |= write_seed(dir, "keepalive-fw2", &g);

	/* SYN flood past the backlog (conf bit 7: backlog 2), pool exhaustion */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0x90);
	for (unsigned k = 0; k < 4; k++)
		seg(&g, k, 0, S, 0, 0, 65535, OPT_MSS, NULL, 0, 0);
	seg(&g, 0, ACK_NXT, A, 0, 0, 65535, 0, NULL, 0, 0);
	for (int i = 0; i < 4; i++)
		app_send(&g, 0, 255);
	rc |= write_seed(dir, "backlog-pool", &g);

	/* raw segment (checksum fixed) and decoder-only inputs with odd options */
	memset(&g, 0, sizeof g);
	g_u8(&g, 0);
	{
		static const uint8_t rawseg[] = {0x9c, 0x40, 0x16, 0x28, 0, 0, 0, 1, 0, 0, 0, 0,
						 0xa0, 0x02, 0xff, 0xff, 0, 0, 0, 0,
						 /* MSS, SACK-perm, TS, NOP, WS 14 */
						 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
						 1, 3, 3, 14};
		g_u8(&g, 1);
		g_le16(&g, sizeof rawseg);
		for (size_t i = 0; i < sizeof rawseg; i++)
			g_u8(&g, rawseg[i]);
		static const uint8_t badopts[] = {0, 1, 2, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, 0x10, 0,
						  1, 0, 0, 0, 0,
						  /* option length 1, then length past the end */
						  2, 1, 8, 40, 1, 1, 5, 0x22};
		g_u8(&g, 6);
		g_u8(&g, sizeof badopts);
		for (size_t i = 0; i < sizeof badopts; i++)
			g_u8(&g, badopts[i]);
	}
	rc |= write_seed(dir, "raw-and-decoder", &g);
	return rc;
}
