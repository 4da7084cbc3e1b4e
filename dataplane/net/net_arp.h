/* ARP for IPv4 over Ethernet (RFC 826), with RFC 1122 2.3.2 (cache
 * timeout, at most one request per second per address, a bounded queue of
 * packets per unresolved address) and RFC 5227 (announcement on start,
 * conflict detection and a defence).
 *
 * One struct net_arp per interface per worker, embedded in struct net_l3
 * (net_ipv4.h) but usable alone. Fixed size, no allocation: a set
 * associative cache (NET_ARP_SETS x NET_ARP_WAYS) and a pool of pending
 * frame slots shared by every unresolved next hop. Protocol code only:
 * frames + now in, frames (ops->tx_frame) + events (ops->event) out. The
 * timers (retries, aging, announcements) run when the owner calls
 * net_arp_tick; their resolution is the owner's tick period. */
#ifndef NET_ARP_H
#define NET_ARP_H

#include "net_eth.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NET_ARP_LEN	      28 /* the IPv4-over-Ethernet packet */
#define NET_ARP_OP_REQUEST    1
#define NET_ARP_OP_REPLY      2
#define NET_ARP_SETS	      64
#define NET_ARP_WAYS	      4
#define NET_ARP_PENDING_SLOTS 32
/* RFC 5227 1.1: ANNOUNCE_INTERVAL 2 s, DEFEND_INTERVAL 10 s */
#define NET_ARP_ANNOUNCE_INTERVAL_NS 2000000000ull
#define NET_ARP_DEFEND_INTERVAL_NS   10000000000ull

/* A parsed ARP packet (host order addresses). */
struct net_arp_view {
	uint16_t op;
	struct net_mac sha, tha; /* sender/target hardware address */
	uint32_t spa, tpa;	 /* sender/target protocol address */
};

/* Parse the ARP payload of a frame. NET_SHORT below 28 bytes (trailing
 * Ethernet padding is ignored); NET_BAD unless htype 1, ptype 0x0800,
 * hlen 6, plen 4; NET_UNSUPPORTED for an op other than request/reply
 * (view filled). Pure. */
enum net_parse net_arp_parse(const uint8_t *p, size_t len, struct net_arp_view *v);

/* Write a complete ARP frame (Ethernet header + 28 bytes, not padded) into
 * buf (cap >= NET_ETH_HLEN + NET_ARP_LEN). Returns its length (42). */
size_t net_arp_build(uint8_t *buf, const struct net_mac *eth_dst, const struct net_mac *eth_src,
		     const struct net_arp_view *a);

enum net_arp_state {
	NET_ARP_FREE = 0,
	NET_ARP_INCOMPLETE, /* requested, waiting for an answer; packets queued */
	NET_ARP_REACHABLE,  /* mac valid until expire_ns */
};

struct net_arp_entry {
	uint32_t ip;
	uint8_t state; /* enum net_arp_state */
	uint8_t tries; /* requests sent in this resolution */
	uint8_t npending;
	struct net_mac mac;
	uint16_t pend_head, pend_tail; /* FIFO of pool slots, NET_ARP_NONE when empty */
	uint64_t expire_ns;	       /* REACHABLE: confirmation + reachable time */
	uint64_t next_ns;	       /* INCOMPLETE: next retry; REACHABLE: earliest refresh */
	uint64_t used_ns;	       /* last output through it (eviction: least recently used) */
};

#define NET_ARP_NONE 0xffff

struct net_arp_pending {
	uint16_t len;
	uint16_t next; /* next slot of the same entry, or of the free list */
	uint8_t frame[NET_ETH_MAX_FRAME];
};

struct net_arp {
	const struct net_l3_config *cfg; /* caller's, outlives this */
	struct net_l3_counters *c;	 /* caller's */
	const struct net_l3_ops *ops;	 /* caller's */
	uint64_t reachable_ns, retry_ns;
	unsigned retries, pending_max, announce;
	struct {
		unsigned announce_left;
		uint64_t next_announce_ns;
		uint64_t last_defend_ns;
		bool defended;
	} addr[NET_L3_MAX_ADDRS];
	struct net_arp_entry cache[NET_ARP_SETS * NET_ARP_WAYS];
	uint16_t pend_free;
	struct net_arp_pending pend[NET_ARP_PENDING_SLOTS];
	uint8_t txbuf[NET_ETH_MIN_FRAME];
};

/* Set up (every entry free); the three pointers are kept. Config zeros
 * take the defaults listed in struct net_l3_config. */
void net_arp_init(struct net_arp *arp, const struct net_l3_config *cfg, struct net_l3_counters *c,
		  const struct net_l3_ops *ops);

/* Port up: schedule cfg->arp_announce announcements per address (RFC 5227
 * 2.3), the first sent now, the rest every ANNOUNCE_INTERVAL by the tick. */
void net_arp_start(struct net_arp *arp, uint64_t now_ns);

/* An ARP frame received (eth already parsed, eth->type == ARP). Replies to
 * requests for our addresses, updates the cache (RFC 826 "merge"), sends
 * what was queued for a sender that just resolved, detects conflicts. */
void net_arp_input(struct net_arp *arp, uint64_t now_ns, const struct net_eth_view *eth);

enum net_arp_out {
	NET_ARP_SENT = 0, /* destination MAC filled in, frame handed to tx */
	NET_ARP_QUEUED,	  /* copied into the pending queue; a request is out */
	NET_ARP_DROPPED,  /* queue full, frame too big, or tx refused */
};

/* Send a complete Ethernet frame (src MAC and type filled; the dst MAC is
 * written here) to IPv4 next hop ip: at once if the address is resolved,
 * else queued (copied) behind a resolution. frame must have room for
 * NET_ETH_MIN_FRAME bytes (short frames are padded in place). */
enum net_arp_out net_arp_output(struct net_arp *arp, uint64_t now_ns, uint32_t ip, uint8_t *frame,
				size_t len);

/* The MAC of a resolved next hop, without queueing anything (a refresh
 * request may go out, as with net_arp_output). true if known. */
bool net_arp_lookup(struct net_arp *arp, uint64_t now_ns, uint32_t ip, struct net_mac *mac);

/* Timers: announcements, request retries (and failures: pending frames
 * dropped, NET_L3_EV_ARP_FAILED), aging of resolved entries. */
void net_arp_tick(struct net_arp *arp, uint64_t now_ns);

/* The entry of ip, or NULL (for tests and `stats`). */
const struct net_arp_entry *net_arp_find(const struct net_arp *arp, uint32_t ip);

#ifdef __cplusplus
}
#endif

#endif /* NET_ARP_H */
