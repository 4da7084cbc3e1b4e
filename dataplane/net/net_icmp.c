/* ICMP (net_icmp.h): RFC 792, RFC 1122 3.2.2. */
#include "net_icmp.h"

#include "net_csum.h"

#define NET_ICMP_DEF_RATE  1000
#define NET_ICMP_DEF_BURST 50
#define NET_NS_PER_S	   1000000000ull

enum net_parse net_icmp_parse(const uint8_t *p, size_t len, struct net_icmp_view *v)
{
	if (len < NET_ICMP_HLEN)
		return NET_SHORT;
	v->type = p[0];
	v->code = p[1];
	v->csum = net_get16(p + 2);
	v->id = net_get16(p + 4);
	v->seq = net_get16(p + 6);
	v->data = p + NET_ICMP_HLEN;
	v->data_len = len - NET_ICMP_HLEN;
	return NET_OK;
}

bool net_icmp_csum_ok(const uint8_t *p, size_t len)
{
	return net_csum_buf(p, len) == 0;
}

void net_icmp_init(struct net_icmp *icmp, const struct net_l3_config *cfg,
		   struct net_l3_counters *c)
{
	memset(icmp, 0, sizeof *icmp);
	icmp->c = c;
	icmp->rate = cfg->icmp_rate ? cfg->icmp_rate : NET_ICMP_DEF_RATE;
	icmp->burst = cfg->icmp_burst ? cfg->icmp_burst : NET_ICMP_DEF_BURST;
	icmp->tokens = icmp->burst * NET_NS_PER_S;
}

bool net_icmp_take_token(struct net_icmp *icmp, uint64_t now_ns)
{
	uint64_t cap = icmp->burst * NET_NS_PER_S;
	if (!icmp->started) {
		icmp->started = true;
		icmp->last_ns = now_ns;
	}
	/* A clock that went back refills nothing. Elapsed time is capped
	 * before the multiplication so it cannot overflow. */
	if (now_ns > icmp->last_ns) {
		uint64_t dt = now_ns - icmp->last_ns;
		if (dt >= cap / icmp->rate + 1)
			icmp->tokens = cap;
		else if ((icmp->tokens += dt * icmp->rate) > cap)
			icmp->tokens = cap;
		icmp->last_ns = now_ns;
	}
	if (icmp->tokens < NET_NS_PER_S) {
		NET_COUNT(icmp->c->icmp_rate_limited, 1);
		return false;
	}
	icmp->tokens -= NET_NS_PER_S;
	return true;
}

static void net_icmp_set_csum(uint8_t *msg, size_t len)
{
	net_put16(msg + 2, 0);
	net_put16(msg + 2, net_csum_buf(msg, len));
}

size_t net_icmp_input(struct net_icmp *icmp, uint64_t now_ns, bool bcast, const uint8_t *msg,
		      size_t len, uint8_t *out, size_t cap)
{
	struct net_icmp_view v;
	struct net_l3_counters *c = icmp->c;
	NET_COUNT(c->icmp_rx, 1);
	if (net_icmp_parse(msg, len, &v) != NET_OK) {
		NET_COUNT(c->icmp_rx_short, 1);
		return 0;
	}
	if (!net_icmp_csum_ok(msg, len)) {
		NET_COUNT(c->icmp_rx_bad_csum, 1);
		return 0;
	}
	switch (v.type) {
	case NET_ICMP_ECHO:
		NET_COUNT(c->icmp_rx_echo, 1);
		/* RFC 1122 3.2.2.6: an echo to a broadcast MAY be dropped;
		 * we do (no smurf amplifier). */
		if (bcast) {
			NET_COUNT(c->icmp_rx_echo_bcast, 1);
			return 0;
		}
		if (cap < len || !net_icmp_take_token(icmp, now_ns))
			return 0;
		/* RFC 792 "Echo or Echo Reply Message": type 0, the same
		 * code, identifier, sequence number and data. */
		memcpy(out, msg, len);
		out[0] = NET_ICMP_ECHO_REPLY;
		net_icmp_set_csum(out, len);
		NET_COUNT(c->icmp_tx_echo_reply, 1);
		return len;
	case NET_ICMP_UNREACH:
		/* For TCP's soft errors later (RFC 1122 4.2.3.9); counted. */
		NET_COUNT(c->icmp_rx_unreach, 1);
		return 0;
	default: NET_COUNT(c->icmp_rx_other, 1); return 0;
	}
}

/* ICMP types that are errors (RFC 1122 3.2.2: never answered with one). */
static bool net_icmp_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

size_t net_icmp_build_unreach(struct net_icmp *icmp, uint64_t now_ns, uint8_t code,
			      const uint8_t *orig, size_t orig_len, uint8_t *out, size_t cap)
{
	if (orig_len < 20)
		return 0;
	size_t ihl = (size_t)(orig[0] & 0x0f) * 4;
	if (orig[9] == 1 && orig_len >= ihl + 1 && net_icmp_is_error(orig[ihl]))
		return 0;
	size_t quote = orig_len < NET_ICMP_QUOTE_MAX ? orig_len : NET_ICMP_QUOTE_MAX;
	if (cap < NET_ICMP_HLEN + quote)
		return 0;
	if (!net_icmp_take_token(icmp, now_ns))
		return 0;
	/* RFC 792 "Destination Unreachable Message": type 3, code, checksum,
	 * 4 unused bytes (zero), then the internet header + data quoted. */
	out[0] = NET_ICMP_UNREACH;
	out[1] = code;
	memset(out + 2, 0, 6);
	memcpy(out + NET_ICMP_HLEN, orig, quote);
	net_icmp_set_csum(out, NET_ICMP_HLEN + quote);
	NET_COUNT(icmp->c->icmp_tx_unreach, 1);
	return NET_ICMP_HLEN + quote;
}
