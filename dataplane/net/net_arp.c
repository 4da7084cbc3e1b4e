/* ARP (net_arp.h): RFC 826, RFC 1122 2.3.2, RFC 5227. */
#include "net_arp.h"

#include "net_csum.h"

#define NET_ARP_DEF_REACHABLE_NS 60000000000ull /* 60 s, as Linux's gc_stale_time */
#define NET_ARP_DEF_RETRY_NS	 1000000000ull	/* RFC 1122 2.3.2.1: <= 1 per second */
#define NET_ARP_DEF_RETRIES	 3
#define NET_ARP_DEF_PENDING	 4
#define NET_ARP_DEF_ANNOUNCE	 2 /* RFC 5227 ANNOUNCE_NUM */

enum net_parse net_arp_parse(const uint8_t *p, size_t len, struct net_arp_view *v)
{
	if (len < NET_ARP_LEN)
		return NET_SHORT;
	/* RFC 826 "Packet format": ar$hrd 1 (Ethernet), ar$pro 0x0800,
	 * ar$hln 6, ar$pln 4 for IPv4 over Ethernet. */
	if (net_get16(p) != 1 || net_get16(p + 2) != NET_ETHERTYPE_IPV4 || p[4] != NET_ETH_ALEN ||
	    p[5] != 4)
		return NET_BAD;
	v->op = net_get16(p + 6);
	memcpy(v->sha.b, p + 8, NET_ETH_ALEN);
	v->spa = net_get32(p + 14);
	memcpy(v->tha.b, p + 18, NET_ETH_ALEN);
	v->tpa = net_get32(p + 24);
	if (v->op != NET_ARP_OP_REQUEST && v->op != NET_ARP_OP_REPLY)
		return NET_UNSUPPORTED;
	return NET_OK;
}

size_t net_arp_build(uint8_t *buf, const struct net_mac *eth_dst, const struct net_mac *eth_src,
		     const struct net_arp_view *a)
{
	size_t n = net_eth_build(buf, eth_dst, eth_src, NET_ETHERTYPE_ARP);
	uint8_t *p = buf + n;
	net_put16(p, 1);
	net_put16(p + 2, NET_ETHERTYPE_IPV4);
	p[4] = NET_ETH_ALEN;
	p[5] = 4;
	net_put16(p + 6, a->op);
	memcpy(p + 8, a->sha.b, NET_ETH_ALEN);
	net_put32(p + 14, a->spa);
	memcpy(p + 18, a->tha.b, NET_ETH_ALEN);
	net_put32(p + 24, a->tpa);
	return n + NET_ARP_LEN;
}

void net_arp_init(struct net_arp *arp, const struct net_l3_config *cfg, struct net_l3_counters *c,
		  const struct net_l3_ops *ops)
{
	memset(arp, 0, sizeof *arp);
	arp->cfg = cfg;
	arp->c = c;
	arp->ops = ops;
	arp->reachable_ns =
	    cfg->arp_reachable_ns ? cfg->arp_reachable_ns : NET_ARP_DEF_REACHABLE_NS;
	arp->retry_ns = cfg->arp_retry_ns ? cfg->arp_retry_ns : NET_ARP_DEF_RETRY_NS;
	arp->retries = cfg->arp_retries ? cfg->arp_retries : NET_ARP_DEF_RETRIES;
	if (arp->retries > 255)
		arp->retries = 255;
	arp->pending_max = cfg->arp_pending_max ? cfg->arp_pending_max : NET_ARP_DEF_PENDING;
	if (arp->pending_max > NET_ARP_PENDING_SLOTS)
		arp->pending_max = NET_ARP_PENDING_SLOTS;
	arp->announce = cfg->arp_announce ? cfg->arp_announce : NET_ARP_DEF_ANNOUNCE;
	for (unsigned i = 0; i < NET_ARP_SETS * NET_ARP_WAYS; i++) {
		arp->cache[i].pend_head = NET_ARP_NONE;
		arp->cache[i].pend_tail = NET_ARP_NONE;
	}
	for (unsigned i = 0; i < NET_ARP_PENDING_SLOTS; i++)
		arp->pend[i].next =
		    (uint16_t)(i + 1 < NET_ARP_PENDING_SLOTS ? i + 1 : NET_ARP_NONE);
	arp->pend_free = 0;
}

/* Index of ip among our addresses, or -1. */
static int net_arp_our_index(const struct net_arp *arp, uint32_t ip)
{
	for (unsigned i = 0; i < arp->cfg->n_addrs && i < NET_L3_MAX_ADDRS; i++)
		if (arp->cfg->addrs[i].addr == ip)
			return (int)i;
	return -1;
}

/* An address worth a cache entry: not 0.0.0.0 (RFC 5227 probes), not
 * limited broadcast, not multicast (224/4) or loopback (127/8). */
static bool net_arp_ip_cacheable(uint32_t ip)
{
	return ip != 0 && ip != 0xffffffffu && (ip >> 28) != 0xe && (ip >> 24) != 127;
}

static struct net_arp_entry *net_arp_set(struct net_arp *arp, uint32_t ip)
{
	/* Fibonacci hashing: the top bits of ip * 2^32/phi. */
	uint32_t h = (ip * 2654435769u) >> 26; /* 6 bits: NET_ARP_SETS == 64 */
	return &arp->cache[(h % NET_ARP_SETS) * NET_ARP_WAYS];
}

static struct net_arp_entry *net_arp_get(struct net_arp *arp, uint32_t ip)
{
	struct net_arp_entry *set = net_arp_set(arp, ip);
	for (unsigned w = 0; w < NET_ARP_WAYS; w++)
		if (set[w].state != NET_ARP_FREE && set[w].ip == ip)
			return &set[w];
	return NULL;
}

const struct net_arp_entry *net_arp_find(const struct net_arp *arp, uint32_t ip)
{
	return net_arp_get((struct net_arp *)(uintptr_t)arp, ip);
}

/* Free an entry's pending frames; returns how many were dropped. */
static unsigned net_arp_drop_pending(struct net_arp *arp, struct net_arp_entry *e)
{
	unsigned n = 0;
	uint16_t s = e->pend_head;
	while (s != NET_ARP_NONE) {
		uint16_t next = arp->pend[s].next;
		arp->pend[s].next = arp->pend_free;
		arp->pend_free = s;
		s = next;
		n++;
	}
	e->pend_head = e->pend_tail = NET_ARP_NONE;
	e->npending = 0;
	NET_COUNT(arp->c->arp_pending_drop, n);
	return n;
}

static void net_arp_free(struct net_arp *arp, struct net_arp_entry *e)
{
	(void)net_arp_drop_pending(arp, e);
	e->state = NET_ARP_FREE;
	e->ip = 0;
}

/* A slot for ip in its set: a free way, else the least recently used
 * resolved one, else (all resolving) the oldest resolution. */
static struct net_arp_entry *net_arp_alloc(struct net_arp *arp, uint32_t ip)
{
	struct net_arp_entry *set = net_arp_set(arp, ip);
	struct net_arp_entry *victim = NULL;
	for (unsigned w = 0; w < NET_ARP_WAYS; w++) {
		struct net_arp_entry *e = &set[w];
		if (e->state == NET_ARP_FREE) {
			victim = e;
			break;
		}
		if (victim == NULL ||
		    (e->state == NET_ARP_REACHABLE &&
		     (victim->state != NET_ARP_REACHABLE || e->used_ns < victim->used_ns)))
			victim = e;
		else if (e->state == NET_ARP_INCOMPLETE && victim->state == NET_ARP_INCOMPLETE &&
			 e->used_ns < victim->used_ns)
			victim = e;
	}
	if (victim->state != NET_ARP_FREE) {
		NET_COUNT(arp->c->arp_cache_evict, 1);
		net_arp_free(arp, victim);
	}
	victim->ip = ip;
	victim->tries = 0;
	victim->npending = 0;
	victim->pend_head = victim->pend_tail = NET_ARP_NONE;
	victim->mac = net_mac_zero;
	victim->expire_ns = victim->next_ns = 0;
	NET_COUNT(arp->c->arp_cache_add, 1);
	return victim;
}

static void net_arp_event(struct net_arp *arp, enum net_l3_event_type t, uint32_t ip,
			  const struct net_mac *mac, unsigned dropped)
{
	if (arp->ops->event == NULL)
		return;
	struct net_l3_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = t;
	ev.ip = ip;
	if (mac)
		ev.mac = *mac;
	ev.dropped = dropped;
	arp->ops->event(arp->ops->ctx, &ev);
}

static void net_arp_send(struct net_arp *arp, const struct net_mac *eth_dst,
			 const struct net_arp_view *a)
{
	size_t n = net_arp_build(arp->txbuf, eth_dst, &arp->cfg->mac, a);
	(void)net_eth_send(arp->ops, arp->c, arp->txbuf, n);
}

/* A request for ip from our first address on ip's subnet (else our first
 * address): broadcast, or unicast to a known MAC to refresh an entry
 * (RFC 1122 2.3.2.1 "unicast poll"). */
static void net_arp_request(struct net_arp *arp, uint32_t ip, const struct net_mac *unicast)
{
	struct net_arp_view a;
	const struct net_l3_config *cfg = arp->cfg;
	uint32_t spa = cfg->n_addrs ? cfg->addrs[0].addr : 0;
	for (unsigned i = 0; i < cfg->n_addrs && i < NET_L3_MAX_ADDRS; i++) {
		unsigned pl = cfg->addrs[i].prefix_len;
		uint32_t mask = pl == 0 ? 0 : pl >= 32 ? 0xffffffffu : ~(0xffffffffu >> pl);
		if ((cfg->addrs[i].addr & mask) == (ip & mask)) {
			spa = cfg->addrs[i].addr;
			break;
		}
	}
	a.op = NET_ARP_OP_REQUEST;
	a.sha = cfg->mac;
	a.spa = spa;
	a.tha = net_mac_zero;
	a.tpa = ip;
	NET_COUNT(arp->c->arp_tx_request, 1);
	net_arp_send(arp, unicast ? unicast : &net_mac_broadcast, &a);
}

/* RFC 5227 2.3: a request with sender = target = our address, target
 * hardware address zero, broadcast. */
static void net_arp_announce(struct net_arp *arp, uint32_t ip)
{
	struct net_arp_view a;
	a.op = NET_ARP_OP_REQUEST;
	a.sha = arp->cfg->mac;
	a.spa = ip;
	a.tha = net_mac_zero;
	a.tpa = ip;
	NET_COUNT(arp->c->arp_tx_announce, 1);
	net_arp_send(arp, &net_mac_broadcast, &a);
}

void net_arp_start(struct net_arp *arp, uint64_t now_ns)
{
	for (unsigned i = 0; i < arp->cfg->n_addrs && i < NET_L3_MAX_ADDRS; i++) {
		arp->addr[i].announce_left = arp->announce;
		arp->addr[i].next_announce_ns = now_ns;
	}
	net_arp_tick(arp, now_ns);
}

/* Send what waited for e, in order, now that e->mac is known. */
static void net_arp_flush(struct net_arp *arp, struct net_arp_entry *e)
{
	uint16_t s = e->pend_head;
	e->pend_head = e->pend_tail = NET_ARP_NONE;
	e->npending = 0;
	while (s != NET_ARP_NONE) {
		struct net_arp_pending *p = &arp->pend[s];
		uint16_t next = p->next;
		memcpy(p->frame, e->mac.b, NET_ETH_ALEN);
		if (net_eth_send(arp->ops, arp->c, p->frame, p->len) == 0)
			NET_COUNT(arp->c->arp_pending_sent, 1);
		else
			NET_COUNT(arp->c->arp_pending_drop, 1);
		p->next = arp->pend_free;
		arp->pend_free = s;
		s = next;
	}
}

/* e answered with mac (a reply, a request from it, or a gratuitous ARP). */
static void net_arp_confirm(struct net_arp *arp, struct net_arp_entry *e, uint64_t now_ns,
			    const struct net_mac *mac)
{
	bool was_resolved = e->state == NET_ARP_REACHABLE;
	bool changed = !was_resolved || !net_mac_eq(&e->mac, mac);
	if (was_resolved && changed)
		NET_COUNT(arp->c->arp_cache_mac_change, 1);
	e->mac = *mac;
	e->state = NET_ARP_REACHABLE;
	e->tries = 0;
	e->expire_ns = now_ns + arp->reachable_ns;
	e->next_ns = now_ns;
	/* queued frames first, then the event: an owner that sends from
	 * the event callback must not overtake what was waiting */
	if (e->pend_head != NET_ARP_NONE)
		net_arp_flush(arp, e);
	if (changed)
		net_arp_event(arp, NET_L3_EV_ARP_RESOLVED, e->ip, mac, 0);
}

void net_arp_input(struct net_arp *arp, uint64_t now_ns, const struct net_eth_view *eth)
{
	struct net_arp_view a;
	struct net_l3_counters *c = arp->c;
	NET_COUNT(c->arp_rx, 1);
	switch (net_arp_parse(eth->payload, eth->payload_len, &a)) {
	case NET_OK: break;
	case NET_SHORT: NET_COUNT(c->arp_rx_short, 1); return;
	case NET_UNSUPPORTED: NET_COUNT(c->arp_rx_bad_op, 1); return;
	default: NET_COUNT(c->arp_rx_bad, 1); return;
	}
	if (a.op == NET_ARP_OP_REQUEST)
		NET_COUNT(c->arp_rx_request, 1);
	else
		NET_COUNT(c->arp_rx_reply, 1);
	if (net_mac_is_group(&a.sha) || net_mac_is_zero(&a.sha)) {
		NET_COUNT(c->arp_rx_bad_sender, 1);
		return;
	}
	int own = net_arp_our_index(arp, a.spa);
	if (own >= 0) {
		if (net_mac_eq(&a.sha, &arp->cfg->mac))
			return; /* our own frame looped back (tap, promiscuous port) */
		/* RFC 5227 2.4: someone else uses our address. Never cache it;
		 * defend (2.4 (b)) with one announcement if we did not within
		 * DEFEND_INTERVAL; tell the owner. */
		NET_COUNT(c->arp_conflict, 1);
		net_arp_event(arp, NET_L3_EV_ADDR_CONFLICT, a.spa, &a.sha, 0);
		if (!arp->addr[own].defended ||
		    now_ns - arp->addr[own].last_defend_ns >= NET_ARP_DEFEND_INTERVAL_NS) {
			arp->addr[own].defended = true;
			arp->addr[own].last_defend_ns = now_ns;
			net_arp_announce(arp, a.spa);
		}
		return;
	}
	/* RFC 826 "Packet Reception": update the sender if we know it
	 * (merge), add it only if the packet was for us. */
	bool merge = false;
	struct net_arp_entry *e = NULL;
	if (net_arp_ip_cacheable(a.spa)) {
		e = net_arp_get(arp, a.spa);
		if (e != NULL) {
			net_arp_confirm(arp, e, now_ns, &a.sha);
			NET_COUNT(c->arp_cache_update, 1);
			merge = true;
		}
	}
	if (net_arp_our_index(arp, a.tpa) < 0) {
		if (a.op == NET_ARP_OP_REQUEST)
			NET_COUNT(c->arp_rx_not_ours, 1);
		return;
	}
	if (!merge && net_arp_ip_cacheable(a.spa)) {
		e = net_arp_alloc(arp, a.spa);
		e->used_ns = now_ns;
		net_arp_confirm(arp, e, now_ns, &a.sha);
	}
	if (a.op == NET_ARP_OP_REQUEST) {
		/* RFC 826: swap sender and target, our MAC as sender, opcode
		 * reply, sent to the requester (not broadcast). A probe
		 * (sender 0.0.0.0, RFC 5227 2.1.1) is answered the same way:
		 * that is how a prober learns the address is taken. */
		struct net_arp_view r;
		r.op = NET_ARP_OP_REPLY;
		r.sha = arp->cfg->mac;
		r.spa = a.tpa;
		r.tha = a.sha;
		r.tpa = a.spa;
		NET_COUNT(c->arp_tx_reply, 1);
		net_arp_send(arp, &a.sha, &r);
	}
}

/* The refresh window: the last quarter of a resolved entry's life. Output
 * through the entry then sends one unicast request per retry interval, so
 * a next hop in use is reconfirmed before it expires and nothing has to
 * wait behind a new resolution. */
static void net_arp_maybe_refresh(struct net_arp *arp, struct net_arp_entry *e, uint64_t now_ns)
{
	if (now_ns + arp->reachable_ns / 4 >= e->expire_ns && now_ns >= e->next_ns) {
		e->next_ns = now_ns + arp->retry_ns;
		net_arp_request(arp, e->ip, &e->mac);
	}
}

static bool net_arp_usable(const struct net_arp_entry *e, uint64_t now_ns)
{
	return e->state == NET_ARP_REACHABLE && now_ns < e->expire_ns;
}

bool net_arp_lookup(struct net_arp *arp, uint64_t now_ns, uint32_t ip, struct net_mac *mac)
{
	struct net_arp_entry *e = net_arp_get(arp, ip);
	if (e == NULL || !net_arp_usable(e, now_ns))
		return false;
	e->used_ns = now_ns;
	net_arp_maybe_refresh(arp, e, now_ns);
	*mac = e->mac;
	return true;
}

enum net_arp_out net_arp_output(struct net_arp *arp, uint64_t now_ns, uint32_t ip, uint8_t *frame,
				size_t len)
{
	struct net_arp_entry *e = net_arp_get(arp, ip);
	if (e != NULL && net_arp_usable(e, now_ns)) {
		e->used_ns = now_ns;
		net_arp_maybe_refresh(arp, e, now_ns);
		memcpy(frame, e->mac.b, NET_ETH_ALEN);
		return net_eth_send(arp->ops, arp->c, frame, len) == 0 ? NET_ARP_SENT
								       : NET_ARP_DROPPED;
	}
	if (len > NET_ETH_MAX_FRAME || len < NET_ETH_HLEN) {
		NET_COUNT(arp->c->arp_pending_drop, 1);
		return NET_ARP_DROPPED;
	}
	if (e == NULL) {
		e = net_arp_alloc(arp, ip);
		e->state = NET_ARP_INCOMPLETE;
	} else if (e->state == NET_ARP_REACHABLE) {
		/* expired before the tick aged it: resolve again */
		NET_COUNT(arp->c->arp_cache_expire, 1);
		e->state = NET_ARP_INCOMPLETE;
		e->tries = 0;
	}
	e->used_ns = now_ns;
	if (e->tries == 0) {
		e->tries = 1;
		e->next_ns = now_ns + arp->retry_ns;
		net_arp_request(arp, ip, NULL);
	}
	if (e->npending >= arp->pending_max || arp->pend_free == NET_ARP_NONE) {
		NET_COUNT(arp->c->arp_pending_drop, 1);
		return NET_ARP_DROPPED;
	}
	uint16_t s = arp->pend_free;
	struct net_arp_pending *p = &arp->pend[s];
	arp->pend_free = p->next;
	memcpy(p->frame, frame, len);
	p->len = (uint16_t)len;
	p->next = NET_ARP_NONE;
	if (e->pend_tail == NET_ARP_NONE)
		e->pend_head = s;
	else
		arp->pend[e->pend_tail].next = s;
	e->pend_tail = s;
	e->npending++;
	NET_COUNT(arp->c->arp_pending_queued, 1);
	return NET_ARP_QUEUED;
}

void net_arp_tick(struct net_arp *arp, uint64_t now_ns)
{
	for (unsigned i = 0; i < arp->cfg->n_addrs && i < NET_L3_MAX_ADDRS; i++) {
		if (arp->addr[i].announce_left > 0 && now_ns >= arp->addr[i].next_announce_ns) {
			arp->addr[i].announce_left--;
			arp->addr[i].next_announce_ns = now_ns + NET_ARP_ANNOUNCE_INTERVAL_NS;
			net_arp_announce(arp, arp->cfg->addrs[i].addr);
		}
	}
	for (unsigned i = 0; i < NET_ARP_SETS * NET_ARP_WAYS; i++) {
		struct net_arp_entry *e = &arp->cache[i];
		if (e->state == NET_ARP_REACHABLE && now_ns >= e->expire_ns) {
			NET_COUNT(arp->c->arp_cache_expire, 1);
			net_arp_free(arp, e);
		} else if (e->state == NET_ARP_INCOMPLETE && now_ns >= e->next_ns) {
			if (e->tries >= arp->retries) {
				uint32_t ip = e->ip;
				NET_COUNT(arp->c->arp_resolve_fail, 1);
				unsigned dropped = net_arp_drop_pending(arp, e);
				net_arp_free(arp, e);
				net_arp_event(arp, NET_L3_EV_ARP_FAILED, ip, NULL, dropped);
			} else {
				e->tries++;
				e->next_ns = now_ns + arp->retry_ns;
				net_arp_request(arp, e->ip, NULL);
			}
		}
	}
}
