/* libFuzzer target: the native TCP (dataplane/net/net_tcp*): the header and
 * option decoder on its own, and net_tcp_input against a listener and
 * against connections the input opens (passive and active), with a peer
 * model that can aim its sequence and acknowledgment numbers at the
 * connection's window, a fake clock the input advances (timers fire), and
 * the application's calls (send, shutdown, abort, receive space). A fake
 * driver checks every segment the stack emits, the callbacks check the
 * event protocol (NEW/FREE pairing, nothing after FREE), and the end of
 * every input aborts what is left and checks that every connection block
 * and every pool block came back.
 *
 * Stack: 10.0.0.1, listener on port 5672 (any address); peers 10.0.0.2..5
 * port 40000 + k (k = peer index 0..3).
 *
 * Input: one config byte, then records, an op byte and its operands
 * (missing bytes read as 0; k = (op >> 3) & 3):
 *   op & 7 == 0  crafted segment from peer k: flags, seq delta (2, signed,
 *                from RCV.NXT, or from the peer's own ISN before a
 *                connection exists), ack delta (2, signed, from SND.UNA,
 *                SND.NXT or SND.MAX by op bit 5/6), window (2), an options
 *                byte (low 5 bits: that many raw option bytes follow, cut
 *                to 40 and padded with EOL to a multiple of 4; bit 7: a
 *                valid timestamp option first; bit 6: a valid MSS first),
 *                bit 5: a SACK block aimed from SND.UNA, 2 bytes: start
 *                offset x 64, length - 1 x 64; low 5 bits raw count),
 *                a payload length byte (x 8 bytes of pattern)
 *   op & 7 == 1  raw segment from peer k: 2 length bytes (LE, mod 1600), the
 *                bytes; ports are kept as given; the checksum is fixed
 *                unless op bit 5 is set
 *   op & 7 == 2  time passes: a byte b, (b & 31) x {10 us, 1 ms, 100 ms,
 *                10 s}[b >> 5 & 3] (b >> 7: x 7 more); net_tcp_advance
 *   op & 7 == 3  the application sends (len byte x 37) on k's connection
 *                and flushes
 *   op & 7 == 4  application action on k: a byte: 0 shutdown, 1 abort,
 *                2 receive space (next byte x 512), 3 flush
 *   op & 7 == 5  active open to peer k from local port 33000 + next byte
 *   op & 7 == 6  decoder alone: length byte, then that many bytes parsed
 *                with net_tcp_parse (checked, not fed to the stack)
 *   op & 7 == 7  the application policy: a byte & 7 (0 take all, 1 take
 *                half, 2 take none, 3 take one; 4 abort from inside recv,
 *                5 send from inside ESTABLISHED/SENDABLE, 6 shut down from
 *                inside PEER_FIN, 7 abort from inside SENDABLE)
 * Every segment is copied into a malloc'd block of exactly its size, so
 * ASan sees any read past its end. Seeds: fuzz_net_tcp_gen_corpus.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_csum.h"
#include "net_tcp.h"
#include "net_tcp_impl.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TF_LADDR		    NET_TCP_FUZZ_IP(10, 0, 0, 1)
#define TF_LPORT		    5672
#define TF_PEERS		    4
#define TF_NCONNS		    8
#define TF_NBLOCKS		    48
#define TF_BSIZE		    512
#define TF_SLOTS		    256
#define NET_TCP_FUZZ_IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

struct tf_peer {
	uint32_t addr;
	uint16_t port;
	uint32_t isn;	  /* the peer's sequence base before a connection exists */
	uint32_t tsval;	  /* the peer's timestamp clock */
	uint32_t ts_seen; /* the latest TSval the stack sent this peer */
	uint32_t seq_seen, ack_seen;
};

struct tf {
	struct net_tcp_stack st;
	struct net_tcp_conn conns[TF_NCONNS];
	bool live[TF_NCONNS];
	bool freed_in_cb[TF_NCONNS];
	uint8_t poolmem[TF_NBLOCKS * (NET_TCP_BLK_HDR + TF_BSIZE)];
	struct net_tcp_pool pool;
	uint32_t heads[TF_SLOTS + 1];
	struct tf_peer peer[TF_PEERS];
	uint64_t now;
	unsigned outputs;
	unsigned policy;
	bool offload;
	bool in_connect; /* net_tcp_connect may emit the SYN before we know the block */
};

static int tf_peer_of(const struct tf *t, uint32_t addr)
{
	for (int i = 0; i < TF_PEERS; i++)
		if (t->peer[i].addr == addr)
			return i;
	return -1;
}

static void tf_output(void *ctx, const struct net_tcp_seg_out *so)
{
	struct tf *t = (struct tf *)ctx;
	uint8_t buf[60 + 1500];
	struct net_tcp_hdr h;

	t->outputs++;
	FUZZ_INVARIANT(t->outputs < 200000, "bounded output");
	FUZZ_INVARIANT(so->saddr == TF_LADDR, "source is ours");
	FUZZ_INVARIANT(so->hdr_len >= 20 && so->hdr_len <= 60 && so->hdr_len % 4 == 0, "header length");
	FUZZ_INVARIANT(so->iovcnt <= NET_TCP_MAX_IOV, "iov count");
	uint32_t n = 0;
	memcpy(buf, so->hdr, so->hdr_len);
	for (uint32_t i = 0; i < so->iovcnt; i++) {
		FUZZ_INVARIANT(so->iov[i].len <= 1500 && n + so->iov[i].len <= 1500, "payload fits");
		memcpy(buf + so->hdr_len + n, so->iov[i].base, so->iov[i].len);
		n += so->iov[i].len;
	}
	FUZZ_INVARIANT(n == so->payload_len, "payload_len is the iov sum");
	FUZZ_INVARIANT(so->hdr_len + n <= 1480, "segment fits a 1500-byte MTU");
	size_t len = so->hdr_len + n;
	FUZZ_INVARIANT(net_tcp_parse(buf, len, &h) == 0, "emitted segment parses");
	FUZZ_INVARIANT(!h.bad_opt, "emitted options well formed");
	FUZZ_INVARIANT(h.hlen == so->hdr_len && h.dlen == n, "emitted lengths");
	if (!t->offload) {
		struct net_csum c;
		net_csum_init(&c);
		net_csum_pseudo4(&c, so->saddr, so->daddr, 6, (uint16_t)len);
		net_csum_add(&c, buf, len);
		FUZZ_INVARIANT(net_csum_finish(&c) == 0, "emitted checksum");
	}
	if (so->conn != NULL) {
		uint32_t i = net_tcp_conn_index(&t->st, so->conn);
		FUZZ_INVARIANT(i < TF_NCONNS && (t->live[i] || t->in_connect),
			 "output for a live connection");
		FUZZ_INVARIANT(n <= so->conn->mss || (h.flags & NET_TH_SYN), "payload within MSS");
	} else {
		FUZZ_INVARIANT(h.flags & NET_TH_RST, "only a RST has no connection");
	}
	int p = tf_peer_of(t, so->daddr);
	if (p >= 0) {
		if (h.has_ts)
			t->peer[p].ts_seen = h.tsval;
		t->peer[p].seq_seen = h.seq;
		t->peer[p].ack_seen = h.ack;
	}
}

static size_t tf_recv(void *ctx, struct net_tcp_conn *c, const uint8_t *p, size_t len)
{
	struct tf *t = (struct tf *)ctx;
	uint32_t i = net_tcp_conn_index(&t->st, c);
	FUZZ_INVARIANT(i < TF_NCONNS && t->live[i], "recv on a live connection");
	FUZZ_INVARIANT(len > 0, "recv has bytes");
	volatile uint8_t x = 0;
	for (size_t k = 0; k < len; k++)
		x ^= p[k];
	(void)x;
	switch (t->policy) {
	case 4: /* the application aborts from inside recv (deferred) */
		net_tcp_abort(&t->st, c, t->now);
		return len;
	case 1: return len / 2;
	case 2: return 0;
	case 3: return 1;
	default: return len;
	}
}

static void tf_event(void *ctx, struct net_tcp_conn *c, enum net_tcp_event ev,
		     enum net_tcp_close_reason why)
{
	struct tf *t = (struct tf *)ctx;
	uint32_t i = net_tcp_conn_index(&t->st, c);
	FUZZ_INVARIANT(i < TF_NCONNS, "event on one of our blocks");
	FUZZ_INVARIANT(why <= NET_TCP_CLOSE_ABORTED, "close reason");
	if (ev == NET_TCP_EV_NEW) {
		FUZZ_INVARIANT(!t->live[i], "NEW on a block in use");
		FUZZ_INVARIANT(c->laddr == TF_LADDR && c->lport == TF_LPORT, "NEW for the listener");
		t->live[i] = true;
		return;
	}
	FUZZ_INVARIANT(t->live[i], "event on a freed block");
	if (ev == NET_TCP_EV_FREE) {
		t->live[i] = false;
		return;
	}
	/* the application calling back into the stack, as a driver does */
	if (t->policy == 5 && (ev == NET_TCP_EV_ESTABLISHED || ev == NET_TCP_EV_SENDABLE)) {
		static const uint8_t msg[700];
		(void)net_tcp_send(&t->st, c, msg, sizeof msg);
		net_tcp_flush(&t->st, c, t->now);
	} else if (t->policy == 6 && ev == NET_TCP_EV_PEER_FIN) {
		net_tcp_shutdown(&t->st, c, t->now);
	} else if (t->policy == 7 && ev == NET_TCP_EV_SENDABLE) {
		net_tcp_abort(&t->st, c, t->now);
	}
}

static struct net_tcp_conn *tf_lookup(struct tf *t, uint32_t src, uint16_t sport, uint16_t dport)
{
	for (uint32_t i = 0; i < TF_NCONNS; i++) {
		struct net_tcp_conn *c = &t->conns[i];
		if (t->live[i] && c->raddr == src && c->rport == sport && c->lport == dport)
			return c;
	}
	return NULL;
}

static void tf_check_conns(struct tf *t)
{
	uint32_t nlive = 0;
	for (uint32_t i = 0; i < TF_NCONNS; i++) {
		const struct net_tcp_conn *c = &t->conns[i];
		if (!t->live[i])
			continue;
		nlive++;
		FUZZ_INVARIANT(c->state <= NET_TCP_TIME_WAIT && c->state != NET_TCP_CLOSED &&
			     c->state != NET_TCP_LISTEN,
			 "live state");
		FUZZ_INVARIANT(SEQ_LEQ(c->snd_una, c->snd_nxt), "SND.UNA <= SND.NXT");
		FUZZ_INVARIANT(SEQ_LEQ(c->snd_nxt, c->snd_max), "SND.NXT <= SND.MAX");
		FUZZ_INVARIANT(c->snd_buffered <= t->st.cfg.snd_buf, "send buffer bound");
		FUZZ_INVARIANT(c->sack_n <= NET_TCP_SACK_SB, "scoreboard bound");
		FUZZ_INVARIANT(c->mss >= 1, "mss set");
	}
	FUZZ_INVARIANT(nlive + t->st.nfree == TF_NCONNS, "blocks: live + free == all");
	FUZZ_INVARIANT(t->pool.nfree <= t->pool.nblocks, "pool count");
}

static uint8_t tf_u8(const uint8_t **d, size_t *n)
{
	if (*n == 0)
		return 0;
	uint8_t b = **d;
	(*d)++;
	(*n)--;
	return b;
}

static uint16_t tf_u16(const uint8_t **d, size_t *n)
{
	uint16_t lo = tf_u8(d, n);
	return (uint16_t)(lo | (uint16_t)tf_u8(d, n) << 8);
}

/* checksum, exact-size copy, lookup, input */
static void tf_deliver(struct tf *t, uint32_t src, uint8_t *seg, size_t len, bool fix_csum)
{
	if (fix_csum && len >= 20) {
		struct net_csum c;
		net_put16(seg + 16, 0);
		net_csum_init(&c);
		net_csum_pseudo4(&c, src, TF_LADDR, 6, (uint16_t)len);
		net_csum_add(&c, seg, len);
		net_put16(seg + 16, net_csum_finish(&c));
	}
	uint8_t *copy = (uint8_t *)malloc(len ? len : 1);
	FUZZ_INVARIANT(copy != NULL, "malloc");
	memcpy(copy, seg, len);
	struct net_tcp_conn *c = NULL;
	if (len >= 4)
		c = tf_lookup(t, src, net_get16(copy), net_get16(copy + 2));
	uint64_t before = t->st.counters[NET_TCP_C_rx_segments];
	net_tcp_input(&t->st, c, src, TF_LADDR, copy, len, t->now);
	FUZZ_INVARIANT(t->st.counters[NET_TCP_C_rx_segments] == before + 1, "one segment counted once");
	free(copy);
}

static void tf_crafted(struct tf *t, uint8_t op, const uint8_t **d, size_t *n)
{
	struct tf_peer *pe = &t->peer[(op >> 3) & 3];
	uint8_t seg[60 + 255 * 8];
	uint8_t flags = tf_u8(d, n);
	int16_t seqd = (int16_t)tf_u16(d, n);
	int16_t ackd = (int16_t)tf_u16(d, n);
	uint16_t win = tf_u16(d, n);
	uint8_t ob = tf_u8(d, n);
	struct net_tcp_conn *c = tf_lookup(t, pe->addr, pe->port, TF_LPORT);
	uint32_t seq, ack;

	if (c == NULL) {
		/* an active open of ours to this peer uses another local port */
		for (uint32_t i = 0; i < TF_NCONNS && c == NULL; i++)
			if (t->live[i] && t->conns[i].raddr == pe->addr &&
			    t->conns[i].rport == pe->port)
				c = &t->conns[i];
	}
	if (c != NULL && c->state != NET_TCP_SYN_SENT) {
		seq = c->rcv_nxt + (uint32_t)(int32_t)seqd;
	} else {
		seq = pe->isn + (uint32_t)(int32_t)seqd;
	}
	if (c != NULL) {
		uint32_t base = (op & 0x20) ? c->snd_nxt : (op & 0x40) ? c->snd_max : c->snd_una;
		ack = base + (uint32_t)(int32_t)ackd;
	} else {
		ack = pe->seq_seen + 1 + (uint32_t)(int32_t)ackd;
	}
	uint16_t dport = c != NULL ? c->lport : TF_LPORT;

	size_t o = 20;
	if (ob & 0x40) { /* MSS 536..1460 */
		seg[o++] = NET_TCPOPT_MSS;
		seg[o++] = 4;
		net_put16(seg + o, (uint16_t)(536 + (win % 925)));
		o += 2;
	}
	if (ob & 0x80) { /* NOP NOP TS */
		pe->tsval += 1 + (uint32_t)(t->now / 1000 % 7);
		seg[o++] = NET_TCPOPT_NOP;
		seg[o++] = NET_TCPOPT_NOP;
		seg[o++] = NET_TCPOPT_TS;
		seg[o++] = 10;
		net_put32(seg + o, pe->tsval);
		net_put32(seg + o + 4, pe->ts_seen);
		o += 8;
	}
	if ((ob & 0x20) && c != NULL) { /* NOP NOP SACK, one block from SND.UNA */
		uint32_t st = c->snd_una + (uint32_t)tf_u8(d, n) * 64;
		uint32_t en = st + ((uint32_t)tf_u8(d, n) + 1) * 64;
		seg[o++] = NET_TCPOPT_NOP;
		seg[o++] = NET_TCPOPT_NOP;
		seg[o++] = NET_TCPOPT_SACK;
		seg[o++] = 10;
		net_put32(seg + o, st);
		net_put32(seg + o + 4, en);
		o += 8;
	}
	size_t raw = ob & 0x1f;
	if (o + raw > 60)
		raw = 60 - o;
	for (size_t i = 0; i < raw; i++)
		seg[o++] = tf_u8(d, n);
	while (o % 4)
		seg[o++] = NET_TCPOPT_EOL;
	size_t dlen = (size_t)tf_u8(d, n) * 8;
	net_put16(seg, pe->port);
	net_put16(seg + 2, dport);
	net_put32(seg + 4, seq);
	net_put32(seg + 8, ack);
	seg[12] = (uint8_t)((o / 4) << 4);
	seg[13] = flags;
	net_put16(seg + 14, win);
	net_put16(seg + 18, 0);
	for (size_t i = 0; i < dlen; i++)
		seg[o + i] = (uint8_t)(seq + i);
	tf_deliver(t, pe->addr, seg, o + dlen, true);
}

static void tf_setup(struct tf *t, uint8_t conf)
{
	struct net_tcp_cfg cfg;
	struct net_tcp_ops ops = {tf_output, tf_recv, tf_event};

	memset(t, 0, sizeof *t);
	net_tcp_cfg_default(&cfg);
	for (int i = 0; i < 16; i++)
		cfg.isn_key[i] = (uint8_t)(i * 13 + 5);
	cfg.timestamps = !(conf & 1);
	cfg.sack = !(conf & 2);
	cfg.wscale = (conf & 4) ? 0xff : 7;
	cfg.csum_offload = (conf & 8) != 0;
	if (conf & 16) { /* small everything: windows close, pools run dry */
		cfg.mss = 536;
		cfg.rcv_space = 4096;
		cfg.snd_buf = 8192;
		cfg.ooo_max = 2048;
	} else {
		cfg.rcv_space = 16384;
		cfg.snd_buf = 16384;
		cfg.ooo_max = 8192;
	}
	if (conf & 32) {
		cfg.keep_idle_us = 2000000;
		cfg.keep_intvl_us = 500000;
		cfg.keep_cnt = 2;
		cfg.fin_wait_2_us = 3000000;
		cfg.msl_us = 1000000;
	}
	cfg.challenge_ack_limit = (conf & 64) ? 2 : 1000;
	t->offload = cfg.csum_offload;
	t->now = 1000000000ull;
	FUZZ_INVARIANT(net_tcp_pool_init(&t->pool, t->poolmem, sizeof t->poolmem, TF_BSIZE) == 0,
		 "pool init");
	FUZZ_INVARIANT(net_tcp_stack_init(&t->st, &cfg, &ops, t, t->conns, TF_NCONNS, &t->pool, t->heads,
				    TF_SLOTS, t->now) == 0,
		 "stack init");
	FUZZ_INVARIANT(net_tcp_listen(&t->st, 0, TF_LPORT, (conf & 128) ? 2 : 8) >= 0, "listen");
	for (int i = 0; i < TF_PEERS; i++) {
		t->peer[i].addr = NET_TCP_FUZZ_IP(10, 0, 0, 2 + i);
		t->peer[i].port = (uint16_t)(40000 + i);
		t->peer[i].isn = 0x10000000u * (uint32_t)(i + 1) + conf;
		t->peer[i].tsval = 1000u * (uint32_t)(i + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tf t; /* ~30 KB: not on the stack */
	tf_setup(&t, tf_u8(&data, &size));

	unsigned records = 0;
	while (size > 0 && records++ < 2048) {
		uint8_t op = tf_u8(&data, &size);
		unsigned k = (op >> 3) & 3;
		struct tf_peer *pe = &t.peer[k];
		struct net_tcp_conn *c = NULL;
		for (uint32_t i = 0; i < TF_NCONNS && c == NULL; i++)
			if (t.live[i] && t.conns[i].raddr == pe->addr &&
			    t.conns[i].rport == pe->port)
				c = &t.conns[i];
		switch (op & 7) {
		case 0: tf_crafted(&t, op, &data, &size); break;
		case 1: {
			size_t len = tf_u16(&data, &size) % 1600;
			if (len > size)
				len = size;
			uint8_t seg[1600];
			memcpy(seg, data, len);
			data += len;
			size -= len;
			tf_deliver(&t, pe->addr, seg, len, !(op & 0x20));
			break;
		}
		case 2: {
			uint8_t b = tf_u8(&data, &size);
			static const uint64_t unit[4] = {10, 1000, 100000, 10000000};
			uint64_t dt = (uint64_t)(b & 31) * unit[(b >> 5) & 3];
			if (b & 0x80)
				dt *= 8;
			t.now += dt;
			net_tcp_advance(&t.st, t.now);
			break;
		}
		case 3: {
			size_t len = (size_t)tf_u8(&data, &size) * 37;
			static uint8_t buf[255 * 37];
			memset(buf, op, len);
			if (c != NULL) {
				size_t space = net_tcp_send_space(&t.st, c);
				size_t took = net_tcp_send(&t.st, c, buf, len);
				FUZZ_INVARIANT(took <= len, "send takes at most what it is given");
				FUZZ_INVARIANT(took <= space, "send within its space");
				net_tcp_flush(&t.st, c, t.now);
			}
			break;
		}
		case 4: {
			uint8_t a = tf_u8(&data, &size);
			uint8_t b = tf_u8(&data, &size);
			if (c == NULL)
				break;
			switch (a & 3) {
			case 0: net_tcp_shutdown(&t.st, c, t.now); break;
			case 1: net_tcp_abort(&t.st, c, t.now); break;
			case 2: net_tcp_set_rcv_space(&t.st, c, (uint32_t)b * 512, t.now); break;
			default: net_tcp_flush(&t.st, c, t.now); break;
			}
			break;
		}
		case 5: {
			uint16_t lport = (uint16_t)(33000 + tf_u8(&data, &size));
			if (tf_lookup(&t, pe->addr, pe->port, lport) != NULL)
				break; /* the caller's lookup already holds that tuple */
			t.in_connect = true;
			struct net_tcp_conn *nc =
			    net_tcp_connect(&t.st, TF_LADDR, lport, pe->addr, pe->port, 0, t.now);
			t.in_connect = false;
			if (nc != NULL) {
				uint32_t i = net_tcp_conn_index(&t.st, nc);
				FUZZ_INVARIANT(i < TF_NCONNS, "connect block");
				/* no NEW for an active open: the caller adds it (net_tcp.h) */
				if (nc->state != NET_TCP_CLOSED)
					t.live[i] = true;
			}
			break;
		}
		case 6: {
			size_t len = tf_u8(&data, &size);
			if (len > size)
				len = size;
			uint8_t *copy = (uint8_t *)malloc(len ? len : 1);
			FUZZ_INVARIANT(copy != NULL, "malloc");
			memcpy(copy, data, len);
			data += len;
			size -= len;
			struct net_tcp_hdr h;
			if (net_tcp_parse(copy, len, &h) == 0) {
				FUZZ_INVARIANT(h.hlen >= 20 && h.hlen <= len && h.hlen <= 60, "hlen");
				FUZZ_INVARIANT(h.data == copy + h.hlen && h.dlen == len - h.hlen,
					 "payload view");
				FUZZ_INVARIANT(h.nsack <= 4, "SACK blocks");
				FUZZ_INVARIANT(!h.has_ws || h.ws <= 255, "ws");
			} else {
				FUZZ_INVARIANT(len < 20 || (copy[12] >> 4) < 5 ||
					     (size_t)(copy[12] >> 4) * 4 > len,
					 "parse fails only on a bad header");
			}
			free(copy);
			break;
		}
		default: t.policy = tf_u8(&data, &size) & 7; break;
		}
		tf_check_conns(&t);
	}
	/* the end: every block back */
	for (uint32_t i = 0; i < TF_NCONNS; i++)
		if (t.live[i])
			net_tcp_abort(&t.st, &t.conns[i], t.now);
	for (uint32_t i = 0; i < TF_NCONNS; i++)
		FUZZ_INVARIANT(!t.live[i], "abort frees");
	FUZZ_INVARIANT(t.st.nfree == TF_NCONNS, "every connection block free");
	FUZZ_INVARIANT(t.pool.nfree == t.pool.nblocks, "every pool block free (no leak)");
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("NET_FUZZ_VERBOSE") != NULL;
	if (verbose) {
		for (unsigned i = 0; i < NET_TCP_C_COUNT; i++)
			if (t.st.counters[i])
				fprintf(stderr, " %s=%llu", net_tcp_counter_names[i],
					(unsigned long long)t.st.counters[i]);
		fprintf(stderr, " | out=%u\n", t.outputs);
	}
	return 0;
}
