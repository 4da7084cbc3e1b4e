#!/bin/bash
# System test of the dpdk driver (issue 6): rpcrouterd on net_tap (or
# net_af_packet over a veth pair: PORT af_packet) inside a network
# namespace of its own, a real python3-qpid-proton client in the
# same namespace (the tap's kernel side is 10.77.0.1/24, the router owns
# 10.77.0.2/24 on its native stack):
#   ping 10.77.0.2 (ARP + ICMP echo of dataplane/net)
#   1000 pre-settled and 1000 unsettled messages, and RPC calls through a
#   dynamic reply address (tests/system/dpdk/dpdk_client.py)
#   rpcrouter-ctl stats: the worker's driver, net_l3 and net_tcp counters
#   SIGTERM to rpcrouterd by pid: exit 0
# Skipped (exit 77) unless root, a DPDK build, `ip netns` and the net_tap
# PMD are usable. Everything it creates (namespace, EAL runtime directory,
# temporary files) is removed on exit; the only processes it ends are its
# own, by pid.
#
# With FAULTS (a dpdkFaultInjection spec, e.g. drop=0.01,dup=0.01,
# reorder=0.01,seed=7) the driver drops, duplicates and reorders frames
# both ways: the exchange must still deliver every message once, in order,
# and the fault and TCP retransmission counters must show it happened.
#
# PORT af_packet: the router's port is net_af_packet on veth-d (qpairs =
# WORKERS), the kernel's side veth-k with its tx checksum offload off (a
# veth hands AF_PACKET partial checksums otherwise: tx_csum_off.py).
#
# Usage: run.sh RPCROUTERD RPCROUTER_CTL [WORKERS [FAULTS [PORT]]]
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
WORKERS=${3:-1}
FAULTS=${4:-}
PORT=${5:-tap}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

rr_need_root "network namespaces, tap devices"
rr_need_netns
rr_need_cmd ping iputils-ping
rr_need_proton
rr_need_pmd "$PORT"

rr_tmp rrdpdk
rr_netns "rrdpdk-$$"
NS=$RR_NS
PREFIX=rrdpdk$$
rr_prefix "$PREFIX"
rr_port "$PORT" 0 rrtap0 "$WORKERS"
KIF=$RR_PORT_KIF
SPEC=$RR_PORT_SPEC
# lcore 0 (control) on CPU 0, worker lcores 1..N on the other CPUs (shared
# when there are fewer: the idle back-off lets them take turns)
rr_conf rrdpdk "$WORKERS" "$PREFIX" "$SPEC" 10.77.0.2/24 100 "maxConnections: 26" \
	${FAULTS:+"dpdkFaultInjection: $FAULTS"}
rr_start_router 120 "$TMP/rr.conf" "$NS"
rr_wait_up ip netns exec "$NS" ip link show "$KIF"
rr_port_kernel_side "$PORT" "$KIF" 10.77.0.1/24

# with faults a ping may be lost: 3 answers within at most 10 s
rr_check "ping 10.77.0.2" ip netns exec "$NS" ping -c 3 -w 10 -i 0.2 -W 2 10.77.0.2
rr_check "proton exchange (1000 pre-settled, 1000 unsettled, RPC)" \
	ip netns exec "$NS" timeout -k 5 40 "$PY" "$HERE/dpdk_client.py" \
	--url amqp://10.77.0.2:5672 --messages 1000 --calls 20 --timeout 30 --connections 24

# maxConnections (26) with no other connection left (as control counts
# them: its count drops when it has handled the worker's CONN_GONE): 26
# open, the 27th
# is refused by control and reset by the driver
conns() {
	"$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["control"]["connections_live"])'
}
# (not with faults: a lost RST or SYN turns it into a test of timeouts)
if [ -z "$FAULTS" ]; then
	for _ in $(seq 100); do [ "$(conns)" = 0 ] && break; sleep 0.1; done
	rr_check "no connection left before the maxConnections check" [ "$(conns)" = 0 ]
	rr_check "maxConnections: the connection beyond is refused" \
		ip netns exec "$NS" timeout -k 5 40 "$PY" "$HERE/dpdk_client.py" \
		--url amqp://10.77.0.2:5672 --timeout 30 --limit 26 --only limit
fi

rr_stats "$TMP/stats.json"
rr_check "stats: driver, native stack and engine counters" "$PY" - "$TMP/stats.json" "$WORKERS" "$FAULTS" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
workers = int(sys.argv[2])
faults = sys.argv[3]
from stats_need import need, failed
need(s['driver'] == 'dpdk', 'driver is %r' % s['driver'])
need(len(s['workers']) == workers, '%d workers' % len(s['workers']))
tot = {}
for w in s['workers']:
    for g in ('driver', 'net_l3', 'net_tcp', 'fault_rx', 'fault_tx'):
        if g.startswith('fault') and not faults:
            need(g not in w, 'fault counters without faults')
            continue
        need(g in w, 'worker %s has no %s counters' % (w['id'], g))
        for k, v in w.get(g, {}).items():
            tot[g + '.' + k] = tot.get(g + '.' + k, 0) + v
c = s['totals']['counters']
need(c['transfers_in'] >= 2020, 'transfers_in %d' % c['transfers_in'])
need(c['transfers_out'] >= 2020, 'transfers_out %d' % c['transfers_out'])
need(c['presettled_in'] >= 1000, 'presettled_in %d' % c['presettled_in'])
need(c['outcome_accepted'] >= 1000, 'outcome_accepted %d' % c['outcome_accepted'])
need(tot.get('net_l3.icmp_tx_echo_reply', 0) >= 3, 'echo replies %s' % tot.get('net_l3.icmp_tx_echo_reply'))
need(tot.get('net_l3.arp_tx_reply', 0) >= 1, 'no ARP reply sent')
need(tot.get('net_tcp.passive_opens', 0) >= (30 if faults else 57), 'passive_opens %s' % tot.get('net_tcp.passive_opens'))
need(tot.get('driver.native_new', 0) >= (30 if faults else 57), 'native_new %s' % tot.get('driver.native_new'))
need(tot.get('net_tcp.rx_bytes', 0) >= c['rx_bytes'], 'TCP rx_bytes %s < engine rx_bytes %s'
     % (tot.get('net_tcp.rx_bytes'), c['rx_bytes']))
# the 27th connection of the limit phase (maxConnections 26)
need(faults or s['control']['refused_max_connections'] >= 1, 'nothing refused at maxConnections')
need(tot.get('driver.native_refused', 0) == s['control']['refused_max_connections'],
     'driver reset %s connections, control refused %d' % (tot.get('driver.native_refused'),
                                                          s['control']['refused_max_connections']))
if faults:
    for k in ('drop', 'dup', 'reorder'):
        n = tot.get('fault_rx.' + k, 0) + tot.get('fault_tx.' + k, 0)
        print('  faults: %s %d' % (k, n))
        need(n > 0, 'no %s injected' % k)
    print('  TCP: %d retransmits, %d out of order, %d duplicate' % (
        tot.get('net_tcp.retransmits', 0), tot.get('net_tcp.rx_out_of_order', 0),
        tot.get('net_tcp.rx_dup_data', 0)))
    need(tot.get('net_tcp.retransmits', 0) > 0, 'no TCP retransmission')
need(s['control']['connections_accepted'] >= (30 if faults else 56), 'control accepted %d' % s['control']['connections_accepted'])
if workers > 1:
    # 30 connections spread by the steering hash: every worker owns some
    # (all on one of 2 workers: probability 2^-29)
    for w in s['workers']:
        need(w['net_tcp']['passive_opens'] > 0, 'worker %d owns no connection' % w['id'])
    print('  steered: %d packets out, %d in, %d ARP copies' % (
        tot.get('driver.steered_out', 0), tot.get('driver.steered_in', 0),
        tot.get('driver.arp_copies', 0)))
    # a packet may still be on a ring while the counters are read
    need(tot.get('driver.steered_in', 0) + tot.get('driver.steer_ring_full', 0) <=
         tot.get('driver.steered_out', 0), 'more packets steered in than out')
sys.exit(1 if failed() else 0)
EOF

rr_stop_router
rr_finish
