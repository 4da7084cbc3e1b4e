#!/bin/bash
# The dpdk driver on two ports (issue 6): rpcrouterd with two net_tap
# ports in one network namespace, port A 10.77.0.2/24 and port B
# 10.78.0.2/24 (the kernel's sides .1):
#   ping both router addresses (each port's own ARP + ICMP)
#   a receiver connected to 10.77.0.2 and a sender to 10.78.0.2: 1000
#   unsettled messages across the two ports, each once, in order, accepted
#   (two_ports_client.py)
#   a host off both subnets (10.99.0.1 on the namespace's lo; the router's
#   gateway 10.78.0.1 is on port B): 1000 messages again, the receiver
#   to 10.77.0.2 (its packets arrive on A; A has no gateway, so the
#   replies leave by B's) and the sender to 10.78.0.2 by way of 10.77.0.2
#   (B's address arriving on A): the weak end system model (RFC 1122
#   3.3.4.2), as Linux on such a host
#   rpcrouter-ctl stats: rx and tx on both ports (port 0 in "driver" and
#   "net_l3", port 1 in "driver.port1" and "net_l3.port1"), and port A's
#   ip_tx_other_port and ip_rx_host_addr
#   SIGTERM to rpcrouterd by pid: exit 0
# Skipped (exit 77) unless root, a DPDK build, `ip netns` and the net_tap
# PMD are usable. Everything it creates is removed on exit; the only
# processes it ends are its own, by pid.
# With FAULTS (a dpdkFaultInjection spec) every port of every worker drops,
# duplicates and reorders frames both ways (its own injectors): the same
# checks, and faults counted on both ports.
# With PORT_B af_packet, port B is net_af_packet over a veth pair (the
# kernel's side veth-k, tx checksum offload off as in run.sh) instead of a
# second tap: port A computes TCP checksums by offload (net_tap offers it),
# port B in software, and the off-subnet host's replies from port A's
# address leave by port B, so they must get B's software checksum (the
# namespace's kernel drops a bad one); stats show each port's choice.
# Usage: two_ports.sh RPCROUTERD RPCROUTER_CTL [WORKERS [FAULTS [PORT_B]]]
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
WORKERS=${3:-1}
FAULTS=${4:-}
PORT_B=${5:-tap}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

rr_need_root "network namespaces, tap devices"
rr_need_netns
rr_need_cmd ping iputils-ping
rr_need_proton
rr_need_pmd tap
[ "$PORT_B" = tap ] || rr_need_pmd "$PORT_B"

rr_tmp rrdpdk2p
rr_netns "rrdpdk2p-$$"
NS=$RR_NS
PREFIX=rrdpdk2p$$
rr_prefix "$PREFIX"
rr_port "$PORT_B" 1 rrtapb "$WORKERS"
KIF_B=$RR_PORT_KIF
SPEC_B=$RR_PORT_SPEC
rr_conf rrdpdk2p "$WORKERS" "$PREFIX" "net_tap0,iface=rrtapa;$SPEC_B" \
	"10.77.0.2/24;10.78.0.2/24" 100 "dpdkGateway: ;10.78.0.1" \
	${FAULTS:+"dpdkFaultInjection: $FAULTS"}
rr_start_router 90 "$TMP/rr.conf" "$NS"
rr_wait_up ip netns exec "$NS" ip link show rrtapa
rr_port_kernel_side tap rrtapa 10.77.0.1/24
rr_port_kernel_side "$PORT_B" "$KIF_B" 10.78.0.1/24

sed -n 's/.*\(dpdk port .*\)/  \1/p' "$TMP/rr.log"
rr_check "ping 10.77.0.2 (port A)" ip netns exec "$NS" ping -c 3 -w 10 -i 0.2 -W 2 10.77.0.2
rr_check "ping 10.78.0.2 (port B)" ip netns exec "$NS" ping -c 3 -w 10 -i 0.2 -W 2 10.78.0.2
rr_check "1000 unsettled: sender on port B, receiver on port A" \
	ip netns exec "$NS" timeout -k 5 40 "$PY" "$HERE/two_ports_client.py" \
	--recv-url amqp://10.77.0.2:5672 --send-url amqp://10.78.0.2:5672 --messages 1000 \
	--timeout 30
rr_check "1000 unsettled: sender on port A, receiver on port B" \
	ip netns exec "$NS" timeout -k 5 40 "$PY" "$HERE/two_ports_client.py" \
	--recv-url amqp://10.78.0.2:5672 --send-url amqp://10.77.0.2:5672 --messages 1000 \
	--timeout 30 --address two_ports_ba

# The off-subnet host. The namespace's kernel sends from 10.99.0.1 to both
# router addresses through tap A (10.78.0.2 by way of 10.77.0.2) and takes
# the replies that come back through tap B (no reverse-path filter).
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add 10.99.0.1/32 dev lo
for k in all rrtapa "$KIF_B"; do
	ip netns exec "$NS" sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
done
ip netns exec "$NS" ip route add 10.77.0.2/32 dev rrtapa src 10.99.0.1
ip netns exec "$NS" ip route add 10.78.0.2/32 via 10.77.0.2 dev rrtapa src 10.99.0.1
rr_check "1000 unsettled from a host off both subnets (weak end system)" \
	ip netns exec "$NS" timeout -k 5 40 "$PY" "$HERE/two_ports_client.py" \
	--recv-url amqp://10.77.0.2:5672 --send-url amqp://10.78.0.2:5672 --messages 1000 \
	--timeout 30 --address two_ports_weak

rr_stats "$TMP/stats.json"
rr_check "stats: rx and tx on both ports" "$PY" - "$TMP/stats.json" "$WORKERS" "$FAULTS" \
	"$PORT_B" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
workers = int(sys.argv[2])
faults = sys.argv[3]
port_b = sys.argv[4]
from stats_need import need, failed
need(len(s['workers']) == workers, '%d workers' % len(s['workers']))
tot = {}
for w in s['workers']:
    for g in ('driver', 'net_l3', 'net_tcp', 'driver.port1', 'net_l3.port1'):
        need(g in w, 'worker %s has no %s counters' % (w['id'], g))
        for k, v in w.get(g, {}).items():
            tot[g + '.' + k] = tot.get(g + '.' + k, 0) + v
    need('driver.port2' not in w, 'a third port')
    # TCP checksums port by port: net_tap offers offload (not with fault
    # injection, which corrupts frames past the port's checks); af_packet not
    off_a = 0 if faults else 1
    off_b = 0 if faults or port_b == 'af_packet' else 1
    need(w['driver'].get('csum_offload') == off_a,
         'port A csum_offload %s' % w['driver'].get('csum_offload'))
    need(w['driver.port1'].get('csum_offload') == off_b,
         'port B csum_offload %s' % w['driver.port1'].get('csum_offload'))
    need('native_new' not in w.get('driver.port1', {}), 'worker counters in the port group')
for p in ('driver', 'driver.port1'):
    print('  %s: rx_packets %d, tx_packets %d, steered_out %d' % (
        p, tot.get(p + '.rx_packets', 0), tot.get(p + '.tx_packets', 0),
        tot.get(p + '.steered_out', 0)))
    # two connections on each port, 1000 messages in and 1000 out: TCP
    # coalesces them into ~90 frames each way (the pings alone are < 10)
    need(tot.get(p + '.rx_packets', 0) >= 30, p + ': rx_packets %s' % tot.get(p + '.rx_packets'))
    need(tot.get(p + '.tx_packets', 0) >= 30, p + ': tx_packets %s' % tot.get(p + '.tx_packets'))
for g in ('net_l3', 'net_l3.port1'):
    need(tot.get(g + '.icmp_tx_echo_reply', 0) >= 3, g + ': echo replies %s'
         % tot.get(g + '.icmp_tx_echo_reply'))
    need(tot.get(g + '.arp_tx_reply', 0) >= 1, g + ': no ARP reply sent')
# the four connections (two per port) on the one TCP stack per worker
need(tot.get('net_tcp.passive_opens', 0) >= 6, 'passive_opens %s' % tot.get('net_tcp.passive_opens'))
need(tot.get('driver.native_new', 0) >= 6, 'native_new %s' % tot.get('driver.native_new'))
# the host off both subnets: all its segments arrived on port A, B's
# address among them, and A's replies left by port B's gateway
for k in ('ip_tx_other_port', 'ip_rx_host_addr'):
    print('  net_l3 (port A) %s %d' % (k, tot.get('net_l3.' + k, 0)))
    need(tot.get('net_l3.' + k, 0) >= 30, 'port A %s %s' % (k, tot.get('net_l3.' + k)))
for k in ('ip_tx_no_route', 'ip_tx_other_port', 'ip_rx_host_addr'):
    need(tot.get('net_l3.port1.' + k, 0) == 0, 'port B %s %s' % (k, tot.get('net_l3.port1.' + k)))
need(tot.get('net_l3.ip_tx_no_route', 0) == 0, 'port A no_route %s' % tot.get('net_l3.ip_tx_no_route'))
if faults:
    for w in s['workers']:
        for g in ('fault_rx', 'fault_tx', 'fault_rx.port1', 'fault_tx.port1'):
            for k, v in w.get(g, {}).items():
                tot[g + '.' + k] = tot.get(g + '.' + k, 0) + v
    for sfx in ('', '.port1'):
        n = sum(tot.get('fault_%s%s.%s' % (d, sfx, k), 0) for d in ('rx', 'tx')
                for k in ('drop', 'dup', 'reorder'))
        print('  faults%s: %d drop/dup/reorder' % (sfx or ' (port 0)', n))
        need(n > 0, 'no fault injected on port%s' % (sfx or ' 0'))
c = s['totals']['counters']
need(c['outcome_accepted'] >= 3000, 'outcome_accepted %d' % c['outcome_accepted'])
sys.exit(1 if failed() else 0)
PYEOF

rr_stop_router
rr_finish
