/* libFuzzer target: the whole rx path of the native L2/L3 (dataplane/net:
 * Ethernet -> ARP / IPv4 -> ICMP, TCP handed to a callback), with the
 * timers and the output path driven from the input too, and a fake driver
 * that checks every frame the stack sends.
 *
 * Interface: 02:00:00:00:00:01, 10.0.0.1/24 (+ 192.168.7.0/31 when the
 * config byte says so), gateway 10.0.0.254 or none. Config bit 5: a second
 * interface of the same host (02:00:00:00:00:03, 10.9.0.1/24, gateway
 * 10.9.0.254) in the weak end system model (net_l3_ops host_addr and
 * tx_off_link, as the dpdk driver's ports): datagrams to 10.9.0.1 are
 * taken on the first, and its off-link output may leave by the second.
 *
 * Input: one config byte, then records, each an op byte and its operands:
 *   op & 3 == 0  a frame: 2 length bytes (little endian, taken mod 1600,
 *                cut to what is left), then the frame -> net_l3_rx (of
 *                the second interface when op bit 2 is set and it exists)
 *   op & 3 == 1  time passes by (op >> 2) x 50 ms -> net_l3_tick
 *   op & 3 == 2  output: 1 host byte, 1 length byte; TCP-sized payload to
 *                10.0.0.<host> (op bit 2 set), 10.9.0.<host> (bit 3: the
 *                second interface's subnet) or 192.0.2.<host> (gateway)
 *   op & 3 == 3  destination unreachable about the last received frame
 * Every frame is copied into a malloc'd block of exactly its size, so ASan
 * sees any read past its end. Seeds: tests/fuzz/fuzz_net_gen_corpus.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_csum.h"
#include "net_ipv4.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct net_fuzz {
	struct net_l3 *l3;
	struct net_l3 *other; /* the host's other interface, or NULL */
	const struct net_mac *mac;
	unsigned *tx, tcp;
};

static const struct net_mac net_fuzz_mac = {{0x02, 0, 0, 0, 0, 1}};
static const struct net_mac net_fuzz_mac2 = {{0x02, 0, 0, 0, 0, 3}};

/* an address of the host's other interface (weak end system) */
static bool net_fuzz_host_addr(void *ctx, uint32_t ip)
{
	const struct net_fuzz *z = (const struct net_fuzz *)ctx;
	return z->other != NULL && net_l3_is_local(z->other, ip);
}

/* The host's route, as the dpdk driver's: the other's subnet, else our
 * gateway, else the other's. Only the first interface has this hook. */
static int net_fuzz_off_link(void *ctx, uint64_t now_ns, uint8_t *frame, size_t len, uint32_t src,
			     uint32_t dst, uint8_t proto, bool have_gateway)
{
	struct net_fuzz *z = (struct net_fuzz *)ctx;
	if (z->other == NULL || (have_gateway && !net_l3_on_link(z->other, dst)))
		return -1;
	FUZZ_INVARIANT(net_l3_is_local(z->l3, src), "handed on from our own address");
	return (int)net_ipv4_send_frame_via(z->other, now_ns, frame, len, src, dst, proto);
}

static int net_fuzz_tx(void *ctx, const uint8_t *f, size_t len)
{
	struct net_fuzz *z = (struct net_fuzz *)ctx;
	struct net_eth_view eth;
	++*z->tx;
	FUZZ_INVARIANT(*z->tx < 100000, "bounded output");
	FUZZ_INVARIANT(len >= NET_ETH_MIN_FRAME && len <= (size_t)NET_ETH_HLEN + z->l3->cfg.mtu,
		       "tx frame within the MTU");
	FUZZ_INVARIANT(net_eth_parse(f, len, &eth) == NET_OK, "tx frame parses");
	FUZZ_INVARIANT(net_mac_eq(&eth.src, z->mac), "tx source MAC is ours");
	FUZZ_INVARIANT(!net_mac_is_zero(&eth.dst), "tx destination MAC set");
	if (eth.type == NET_ETHERTYPE_ARP) {
		struct net_arp_view a;
		FUZZ_INVARIANT(net_arp_parse(eth.payload, eth.payload_len, &a) == NET_OK,
			       "tx ARP parses");
		FUZZ_INVARIANT(net_mac_eq(&a.sha, z->mac), "tx ARP sender is us");
		FUZZ_INVARIANT(net_l3_is_local(z->l3, a.spa), "tx ARP sender address is ours");
		return 0;
	}
	FUZZ_INVARIANT(eth.type == NET_ETHERTYPE_IPV4, "tx EtherType ARP or IPv4");
	struct net_ipv4_view ip;
	FUZZ_INVARIANT(net_ipv4_parse(eth.payload, eth.payload_len, &ip, NULL) == NET_OK,
		       "tx IPv4 parses (checksum valid)");
	FUZZ_INVARIANT(ip.frag == NET_IPV4_DF, "tx DF set, not a fragment");
	FUZZ_INVARIANT(net_l3_is_local(z->l3, ip.src) || net_fuzz_host_addr(z, ip.src),
		       "tx IPv4 source is the host's");
	FUZZ_INVARIANT(!net_l3_is_broadcast(z->l3, ip.dst) || net_l3_is_local(z->l3, ip.src),
		       "a broadcast only from its own interface");
	FUZZ_INVARIANT(ip.ttl > 0, "tx TTL");
	if (ip.proto == NET_IPV4_PROTO_ICMP) {
		FUZZ_INVARIANT(net_csum_buf(ip.payload, ip.payload_len) == 0, "tx ICMP checksum");
		FUZZ_INVARIANT(ip.payload_len >= NET_ICMP_HLEN, "tx ICMP length");
		FUZZ_INVARIANT(ip.payload[0] == NET_ICMP_ECHO_REPLY ||
				   ip.payload[0] == NET_ICMP_UNREACH,
			       "tx ICMP type");
		FUZZ_INVARIANT(ip.total_len <= 576 || ip.payload[0] == NET_ICMP_ECHO_REPLY,
			       "tx ICMP error within 576 bytes");
	}
	return 0;
}

static void net_fuzz_tcp(void *ctx, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
			 uint64_t now_ns)
{
	struct net_fuzz *z = (struct net_fuzz *)ctx;
	(void)now_ns;
	z->tcp++;
	FUZZ_INVARIANT(net_l3_is_local(z->l3, dst) || net_fuzz_host_addr(z, dst),
		       "TCP to one of the host's addresses");
	FUZZ_INVARIANT(!net_l3_is_broadcast(z->l3, dst), "TCP not to a broadcast");
	FUZZ_INVARIANT(src != 0 && !net_l3_is_local(z->l3, src) && !net_fuzz_host_addr(z, src),
		       "TCP from a unicast peer");
	FUZZ_INVARIANT(len <= NET_ETH_MAX_FRAME - NET_ETH_HLEN - NET_IPV4_HLEN, "TCP segment length");
	/* touch every byte: ASan checks the view stays in the frame */
	volatile uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= seg[i];
	(void)x;
}

static void net_fuzz_event(void *ctx, const struct net_l3_event *ev)
{
	(void)ctx;
	FUZZ_INVARIANT(ev->type == NET_L3_EV_ARP_RESOLVED || ev->type == NET_L3_EV_ARP_FAILED ||
			   ev->type == NET_L3_EV_ADDR_CONFLICT,
		       "event type");
}

/* Every pending slot is either free or queued on exactly one entry. */
static void net_fuzz_check_pool(const struct net_arp *arp)
{
	unsigned n = 0;
	for (uint16_t s = arp->pend_free; s != NET_ARP_NONE; s = arp->pend[s].next) {
		n++;
		FUZZ_INVARIANT(n <= NET_ARP_PENDING_SLOTS, "free list has no cycle");
	}
	for (unsigned i = 0; i < NET_ARP_SETS * NET_ARP_WAYS; i++) {
		const struct net_arp_entry *e = &arp->cache[i];
		unsigned k = 0;
		for (uint16_t s = e->pend_head; s != NET_ARP_NONE; s = arp->pend[s].next) {
			k++;
			FUZZ_INVARIANT(k <= NET_ARP_PENDING_SLOTS, "pending list has no cycle");
		}
		FUZZ_INVARIANT(k == e->npending, "npending matches the list");
		FUZZ_INVARIANT(k == 0 || e->state == NET_ARP_INCOMPLETE,
			       "only resolving entries queue");
		FUZZ_INVARIANT(k <= 4, "pending bounded per next hop");
		n += k;
	}
	FUZZ_INVARIANT(n == NET_ARP_PENDING_SLOTS, "every pending slot accounted for");
}

static uint8_t net_fuzz_u8(const uint8_t **d, size_t *n)
{
	if (*n == 0)
		return 0;
	uint8_t b = **d;
	(*d)++;
	(*n)--;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_l3 l3, l3b; /* ~70 KB each: not on the stack */
	unsigned tx = 0;
	uint8_t conf = net_fuzz_u8(&data, &size);
	struct net_l3 *other = (conf & 32) ? &l3b : NULL;
	struct net_fuzz z = {&l3, other, &net_fuzz_mac, &tx, 0};
	struct net_fuzz zb = {&l3b, &l3, &net_fuzz_mac2, &tx, 0};
	struct net_l3_config cfg;
	struct net_l3_ops ops = {&z, net_fuzz_tx, net_fuzz_tcp, net_fuzz_event, NULL, NULL};
	if (other != NULL) {
		ops.host_addr = net_fuzz_host_addr;
		ops.tx_off_link = net_fuzz_off_link;
		struct net_l3_ops opsb = {&zb, net_fuzz_tx, net_fuzz_tcp, net_fuzz_event,
					  net_fuzz_host_addr, NULL};
		struct net_l3_config cb;
		memset(&cb, 0, sizeof cb);
		cb.mac = net_fuzz_mac2;
		cb.addrs[0].addr = NET_IPV4(10, 9, 0, 1);
		cb.addrs[0].prefix_len = 24;
		cb.n_addrs = 1;
		cb.gateway = NET_IPV4(10, 9, 0, 254);
		cb.mtu = (conf & 16) ? NET_ETH_MTU_MAX : 0;
		net_l3_init(&l3b, &cb, &opsb);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.mac = net_fuzz_mac;
	cfg.addrs[0].addr = NET_IPV4(10, 0, 0, 1);
	cfg.addrs[0].prefix_len = 24;
	cfg.n_addrs = 1;
	if (conf & 1) {
		cfg.addrs[1].addr = NET_IPV4(192, 168, 7, 0);
		cfg.addrs[1].prefix_len = 31;
		cfg.n_addrs = 2;
	}
	cfg.gateway = (conf & 2) ? 0 : NET_IPV4(10, 0, 0, 254);
	cfg.icmp_burst = (conf & 4) ? 2 : 0;
	cfg.ip_id_seed = (uint16_t)(conf * 257);
	cfg.mtu = (conf & 16) ? NET_ETH_MTU_MAX : 0; /* jumbo frames, or Ethernet's 1500 */
	/* received frames up to the largest buffer (jumbo), else a bit past 1514 */
	const size_t rx_cap = (conf & 16) ? NET_ETH_MAX_FRAME + 1 : 1600;
	net_l3_init(&l3, &cfg, &ops);
	uint64_t now = 1000000000ull;
	if (conf & 8)
		net_l3_start(&l3, now);
	if ((conf & 8) && other != NULL)
		net_l3_start(other, now);

	uint8_t *last = NULL;
	size_t last_len = 0;
	unsigned records = 0;
	while (size > 0 && records++ < 4096) {
		uint8_t op = net_fuzz_u8(&data, &size);
		switch (op & 3) {
		case 0: {
			size_t len = net_fuzz_u8(&data, &size);
			len |= (size_t)net_fuzz_u8(&data, &size) << 8;
			len %= rx_cap;
			if (len > size)
				len = size;
			free(last);
			last = (uint8_t *)malloc(len ? len : 1);
			FUZZ_INVARIANT(last != NULL, "malloc");
			memcpy(last, data, len);
			last_len = len;
			data += len;
			size -= len;
			struct net_l3 *in = (other != NULL && (op & 4)) ? other : &l3;
			uint64_t before = in->c.eth_rx;
			net_l3_rx(in, now, last, len);
			FUZZ_INVARIANT(in->c.eth_rx == before + 1, "one frame counted once");
			break;
		}
		case 1:
			now += (uint64_t)(op >> 2) * 50000000ull;
			net_l3_tick(&l3, now);
			if (other != NULL)
				net_l3_tick(other, now);
			break;
		case 2: {
			uint8_t host = net_fuzz_u8(&data, &size);
			size_t len = (size_t)net_fuzz_u8(&data, &size) * 6;
			uint32_t dst = (op & 4)	  ? NET_IPV4(10, 0, 0, host)
				       : (op & 8) ? NET_IPV4(10, 9, 0, host)
						  : NET_IPV4(192, 0, 2, host);
			static uint8_t l4[255 * 6]; /* past 1500: ip_tx_too_big there */
			memset(l4, op, len);
			(void)net_ipv4_output(&l3, now, 0, dst, NET_IPV4_PROTO_TCP, l4, len);
			break;
		}
		default:
			if (last_len > NET_ETH_HLEN)
				(void)net_l3_send_unreach(&l3, now, NET_ICMP_UNREACH_PORT,
							  last + NET_ETH_HLEN,
							  last_len - NET_ETH_HLEN);
			break;
		}
		net_fuzz_check_pool(&l3.arp);
		if (other != NULL)
			net_fuzz_check_pool(&other->arp);
	}
	free(last);
	/* NET_FUZZ_VERBOSE=1: the counters each input moved (to check what
	 * a seed reaches) */
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("NET_FUZZ_VERBOSE") != NULL;
	if (verbose) {
		for (unsigned i = 0; i < NET_L3_C_COUNT; i++)
			if (net_l3_counter_get(&l3.c, i))
				fprintf(stderr, " %s=%llu", net_l3_counter_names[i],
					(unsigned long long)net_l3_counter_get(&l3.c, i));
		fprintf(stderr, " | tx=%u tcp=%u+%u\n", tx, z.tcp, zb.tcp);
	}
	return 0;
}
