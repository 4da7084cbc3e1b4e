/* Records on the rings between threads (dp_ring.h): control -> worker
 * commands, worker -> control events, worker -> worker deliveries and
 * their settlement. Each record is a fixed struct followed by its
 * variable bytes (the record's len covers both). Handles are
 * index + generation, so a record about a connection or link that has
 * gone since is recognised and dropped. */
#ifndef DP_MSG_H
#define DP_MSG_H

#include <stdint.h>

#include "amqp_spec_gen.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dp_msg_type {
	/* control -> worker */
	DP_CMD_ACCEPT = 1, /* dp_cmd_accept [+ u64 token]: a new connection is this worker's */
	DP_CMD_WRITE,      /* dp_cmd_conn + bytes: pre-Open output (SASL, header) */
	DP_CMD_CLOSE,      /* dp_cmd_close: flush and close a pre-Open connection */
	DP_CMD_HANDOFF,    /* dp_cmd_handoff + Open output bytes */
	DP_CMD_ATTACH,     /* dp_cmd_attach + assigned address bytes */
	DP_CMD_SHUTDOWN,   /* no payload: close every connection (forced), exit */
	DP_CMD_REFUSE,     /* dp_cmd_refuse: a native connection is refused (maxConnections) */
	/* worker -> control */
	DP_EVT_RAW = 32,   /* dp_evt_raw + bytes: pre-Open input copy */
	DP_EVT_CONN_GONE,  /* dp_evt_conn_gone + reason text */
	DP_EVT_ATTACH,     /* dp_evt_attach + address bytes */
	DP_EVT_LINK_GONE,  /* dp_evt_link_gone + address bytes */
	DP_EVT_STOPPED,    /* the worker has closed everything and exits */
	DP_EVT_NATIVE_NEW, /* dp_evt_native_new: the driver's own TCP accepted a connection */
	/* worker -> worker */
	DP_XC_DELIVER = 64, /* dp_xc_deliver + message bytes */
	DP_XC_SENT,         /* dp_xc_ack: the copy left on the consumer's link */
	DP_XC_SETTLED,      /* dp_xc_ack + encoded delivery-state */
};

struct dp_cmd_accept {
	int fd;        /* the socket; -1 for a driver's own connection */
	uint32_t conn; /* index chosen by control in the worker's connection pool */
	uint32_t gen;
	uint16_t listener;
	uint8_t family; /* AF_INET / AF_INET6, for logs */
	/* then, answering a dp_evt_native_new: its uint64_t token */
};

/* A connection accepted by a driver's own TCP stack (dpdk): control owns
 * the accounting (maxConnections, slot) and answers with DP_CMD_ACCEPT
 * (fd -1, this token) or DP_CMD_REFUSE. The token means something to the
 * worker's driver only (its TCP block and generation). */
struct dp_evt_native_new {
	uint64_t token;
	uint32_t peer_addr; /* IPv4, host order */
	uint16_t peer_port;
	uint16_t listener;  /* control's listener index */
};

struct dp_cmd_refuse {
	uint64_t token;
};

struct dp_cmd_conn {
	uint32_t conn, gen;
};

struct dp_cmd_close {
	uint32_t conn, gen;
	uint16_t drop;  /* enum dp_drop_id to count, or 0xffff for none */
	uint16_t flush; /* write what is queued first */
};

struct dp_cmd_handoff {
	uint32_t conn, gen;
	uint64_t consumed;       /* R: raw input bytes control consumed (DESIGN.md handoff 4) */
	uint32_t remote_max_frame;
	uint16_t remote_channel_max;
	uint32_t remote_idle_ms; /* the peer's idle-time-out: we send heartbeats within half */
	uint32_t local_idle_ms;  /* ours as configured: nothing received for this long -> close */
	uint32_t max_frame;      /* what we announced */
	uint16_t channel_max;    /* what we announced */
};

struct dp_cmd_attach {
	uint32_t link; /* worker link handle */
	uint16_t ok;   /* 1: install; 0: refuse with condition below */
	uint16_t pad;
	char condition[48];
	char description[128];
	/* then: the address for a dynamic source (else none) */
};

struct dp_evt_raw {
	uint32_t conn, gen;
	uint64_t offset; /* absolute offset of the first byte in the stream */
};

struct dp_evt_conn {
	uint32_t conn, gen;
};

struct dp_evt_conn_gone {
	uint32_t conn, gen;
	uint8_t was_open; /* the handoff had happened */
	uint8_t pad[3];
	uint64_t rx_bytes, tx_bytes;
};

struct dp_evt_attach {
	uint32_t conn, gen;
	uint32_t link;    /* worker link handle */
	uint8_t outgoing; /* 1: router sends (client receiver), 0: router receives */
	uint8_t dynamic;  /* source dynamic (reply link) */
	uint8_t has_addr; /* address bytes follow */
	uint8_t pad;
	uint32_t n_links; /* the connection's links, this one included */
	const uint32_t *outstanding; /* the link's load counter (its pool slot never moves):
					for balanced distribution, read by every worker */
};

struct dp_evt_link_gone {
	uint32_t link;
	uint8_t outgoing; /* control knows which it registered (its own map) */
};

struct dp_xc_deliver {
	uint32_t src_delivery; /* handle in the sender worker's delivery pool */
	uint32_t dst_link;     /* handle in the receiving worker's link pool */
	int64_t expiry_ms;     /* 0: none */
	uint32_t message_format;
	uint32_t hdr_len;      /* bytes of the header section at the start, 0: none */
	uint8_t settled;       /* pre-settled by its producer */
	uint8_t has_header;
	uint8_t pad[2];
	uint8_t *big;              /* messages over DP_XC_INLINE_MAX: malloc'd bytes that the
				      receiving worker owns (and frees) from now on */
	uint32_t big_len;
	struct amqp_header header; /* decoded, for the ttl rewrite */
	/* then: the message bytes */
};

#define DP_XC_INLINE_MAX 65536u

struct dp_xc_ack {
	uint32_t src_delivery;
	uint32_t rank; /* enum dp_outcome_rank of the settled outcome (XC_SETTLED) */
	/* XC_SETTLED: then the encoded delivery-state (may be empty) */
};

#ifdef __cplusplus
}
#endif
#endif
