/* Internals shared by net_tcp*.c (and the tests/fuzzers of the header and
 * option decoder). Not for the driver. */
#ifndef NET_TCP_IMPL_H
#define NET_TCP_IMPL_H

#include "net_tcp.h"
#include "net_count.h"
#include "net_seq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TCP header flags (RFC 9293 3.1) */
#define NET_TH_FIN 0x01
#define NET_TH_SYN 0x02
#define NET_TH_RST 0x04
#define NET_TH_PSH 0x08
#define NET_TH_ACK 0x10
#define NET_TH_URG 0x20

/* net_tcp_conn.flags */
#define NET_TCP_F_TS        0x0001 /* timestamps in use (both offered) */
#define NET_TCP_F_SACK      0x0002 /* SACK permitted both ways */
#define NET_TCP_F_ACKNOW    0x0004 /* send an ACK on the next output */
#define NET_TCP_F_DELACK    0x0008 /* t_delack armed */
#define NET_TCP_F_REXMT     0x0010 /* t_rexmt armed as the retransmission timer */
#define NET_TCP_F_PERSIST   0x0020 /* t_rexmt armed as the persist timer */
#define NET_TCP_F_IDLE      0x0040 /* t_idle armed (keepalive, 2MSL, FIN-WAIT-2) */
#define NET_TCP_F_FIN_Q     0x0080 /* the application shut down: FIN after the data */
#define NET_TCP_F_FIN_SENT  0x0100 /* fin_seq valid */
#define NET_TCP_F_RECOVERY  0x0200 /* in fast recovery (RFC 6582) */
#define NET_TCP_F_PASSIVE   0x0400 /* from a listener */
#define NET_TCP_F_RTT       0x0800 /* rtt_seq being timed */
#define NET_TCP_F_CLOSED_EV 0x1000 /* NET_TCP_EV_CLOSED delivered */
#define NET_TCP_F_RCVD_FIN  0x2000 /* the peer's FIN consumed */
#define NET_TCP_F_WS        0x4000 /* window scaling in use (both offered) */
#define NET_TCP_F_KEEP      0x8000 /* t_idle is a keepalive deadline (else 2MSL/FW2) */
#define NET_TCP_F_ABORT     0x10000 /* abort requested from inside a callback */
#define NET_TCP_F_APP       0x20000 /* the application knows it (ESTABLISHED or connect) */

#define NET_TCP_NONE UINT32_MAX
#define NET_TCP_CWND_MAX (1u << 30)

/* TCP options (RFC 9293 3.2, RFC 7323, RFC 2018) */
#define NET_TCPOPT_EOL       0
#define NET_TCPOPT_NOP       1
#define NET_TCPOPT_MSS       2
#define NET_TCPOPT_WS        3
#define NET_TCPOPT_SACK_PERM 4
#define NET_TCPOPT_SACK      5
#define NET_TCPOPT_TS        8

/* A decoded segment header. */
struct net_tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t hlen;              /* header bytes incl. options */
	const uint8_t *data;        /* payload view */
	uint32_t dlen;
	/* options */
	bool has_mss, has_ws, sack_perm, has_ts;
	bool bad_opt;               /* malformed option list (decoding stopped) */
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct net_tcp_sack_blk sack[4];
};

/* Decode header and options of a contiguous segment. Returns 0, or -1
 * when the header itself is unusable (shorter than 20 bytes, data offset
 * < 5 or beyond len); bad options set bad_opt and are otherwise ignored
 * from the malformed one on (RFC 9293 3.1: an option length must cover
 * itself). Never reads outside [p, p + len). */
int net_tcp_parse(const uint8_t *p, size_t len, struct net_tcp_hdr *h);
/* Options of a SYN/SYN-ACK (MSS, SACK-permitted, timestamps, window scale
 * as given) or of another segment (timestamps, SACK blocks) into out (40
 * bytes max). Returns bytes written (a multiple of 4). */
struct net_tcp_optout {
	bool syn;
	uint16_t mss;               /* syn */
	int ws;                     /* syn: -1 none */
	bool sack_perm;             /* syn */
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	const struct net_tcp_sack_blk *sack;
};
unsigned net_tcp_opt_build(uint8_t *out, const struct net_tcp_optout *o);

/* pool blocks */
static inline uint8_t *net_tcp_blk(const struct net_tcp_pool *p, uint32_t i)
{
	return p->mem + (size_t)i * (NET_TCP_BLK_HDR + p->block_size);
}
static inline uint32_t *net_tcp_blk_hdr(const struct net_tcp_pool *p, uint32_t i)
{
	return (uint32_t *)(void *)net_tcp_blk(p, i); /* [0] next [1] seq [2] len */
}
static inline uint8_t *net_tcp_blk_data(const struct net_tcp_pool *p, uint32_t i)
{
	return net_tcp_blk(p, i) + NET_TCP_BLK_HDR;
}
uint32_t net_tcp_blk_alloc(struct net_tcp_pool *p);
void net_tcp_blk_free(struct net_tcp_pool *p, uint32_t i);

static inline void net_tcp_count(struct net_tcp_stack *s, enum net_tcp_counter_id id)
{
	s->counters[id]++;
}
static inline uint32_t net_tcp_tick(const struct net_tcp_stack *s)
{
	return (uint32_t)(s->now_us / s->cfg.tick_us);
}
static inline uint32_t net_tcp_us_ticks(const struct net_tcp_stack *s, uint32_t us)
{
	return (us + s->cfg.tick_us - 1) / s->cfg.tick_us;
}
/* Our TSval: a millisecond clock plus the connection's offset (RFC 7323
 * 5.4 / RFC 6528-style per-connection randomisation). */
static inline uint32_t net_tcp_tsval(const struct net_tcp_stack *s, const struct net_tcp_conn *c)
{
	return (uint32_t)(s->now_us / 1000) + c->ts_offset;
}

/* net_tcp_out.c */
void net_tcp_output(struct net_tcp_stack *s, struct net_tcp_conn *c);
void net_tcp_send_ack(struct net_tcp_stack *s, struct net_tcp_conn *c);
/* One segment from the send queue (or a SYN/FIN/probe), no state change
 * except counters. */
void net_tcp_xmit(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t seq, uint32_t len,
		  uint8_t flags);
void net_tcp_send_rst_for(struct net_tcp_stack *s, uint32_t src, uint32_t dst,
			  const struct net_tcp_hdr *h);
void net_tcp_send_rst(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t seq);
void net_tcp_sndq_drop(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t n);
void net_tcp_sndq_free(struct net_tcp_stack *s, struct net_tcp_conn *c);
uint32_t net_tcp_rcv_window(const struct net_tcp_stack *s, const struct net_tcp_conn *c);
/* Retransmit one segment starting at snd_una (length up to the first
 * SACKed range, never past snd_max). Returns the sequence space sent. */
uint32_t net_tcp_rexmit_una(struct net_tcp_stack *s, struct net_tcp_conn *c);
uint32_t net_tcp_flight(const struct net_tcp_conn *c);

/* net_tcp_in.c */
void net_tcp_ooo_free(struct net_tcp_stack *s, struct net_tcp_conn *c);
void net_tcp_ooo_drain(struct net_tcp_stack *s, struct net_tcp_conn *c);

/* net_tcp.c */
void net_tcp_timers_update(struct net_tcp_stack *s, struct net_tcp_conn *c);
void net_tcp_rexmt_arm(struct net_tcp_stack *s, struct net_tcp_conn *c);
void net_tcp_conn_close(struct net_tcp_stack *s, struct net_tcp_conn *c,
			enum net_tcp_close_reason why);
void net_tcp_enter_time_wait(struct net_tcp_stack *s, struct net_tcp_conn *c);
void net_tcp_conn_free(struct net_tcp_stack *s, struct net_tcp_conn *c);
struct net_tcp_conn *net_tcp_conn_alloc(struct net_tcp_stack *s);
void net_tcp_conn_setup(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t laddr,
			uint16_t lport, uint32_t raddr, uint16_t rport);
void net_tcp_rtt_sample(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t rtt_us);
void net_tcp_notify(struct net_tcp_stack *s, struct net_tcp_conn *c, enum net_tcp_event ev,
		   enum net_tcp_close_reason why);
void net_tcp_keep_reset(struct net_tcp_stack *s, struct net_tcp_conn *c);
/* After input on c: a deferred abort, then the timers; false if freed. */
bool net_tcp_finish_input(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t gen);

#ifdef __cplusplus
}
#endif

#endif /* NET_TCP_IMPL_H */
