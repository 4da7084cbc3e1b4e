#!/bin/bash
# 100 MB through the dpdk driver under injected faults (issue 6): rpcrouterd
# on net_tap in a network namespace of its own, with dpdkFaultInjection
# dropping, duplicating and reordering 1% of the frames each way, and
# dpdk_crc_client (proton-C, in the same namespace) moving PAIRS x COUNT
# unsettled messages of a mix of sizes (4 KB ones and 40,000-byte ones,
# which cross the 16 KB max-frame: several transfer frames each), each
# carrying its sequence number and the CRC32 of its payload. Checks:
#   every message delivered once, in order per link, with the right bytes,
#   and every delivery accepted and settled (the client's own checks);
#   >= 100 MiB of payload moved;
#   rpcrouter-ctl stats: fault drop, dup and reorder counters (rx and tx
#   each) and the native TCP's retransmits > 0; the engine's transfer and accepted counts;
#   every unsettled delivery the router took in got an outcome (accepted);
#   SIGTERM to rpcrouterd: exit 0.
# Prints the figures (MB, seconds, counters). Skipped (exit 77) as run.sh.
#
# Usage: faults.sh RPCROUTERD RPCROUTER_CTL CRC_CLIENT [PAIRS COUNT]
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
CLIENT=${3:?dpdk_crc_client}
PAIRS=${4:-4}
COUNT=${5:-2100}
SIZES=4096,4096,4096,40000
FAULTS=drop=0.01,dup=0.01,reorder=0.01,seed=11
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

rr_need_root "network namespaces, tap devices"
rr_need_netns
rr_need_pmd tap

rr_tmp rrdpdkfault
rr_netns "rrdpdk-fault-$$"
PREFIX=rrdpdkfault$$
rr_prefix "$PREFIX"
rr_conf rrdpdkfault 1 "$PREFIX" net_tap0,iface=rrtap0 10.77.0.2/24 100 \
	"dpdkFaultInjection: $FAULTS"
rr_start_router 150 "$TMP/rr.conf" "$RR_NS"
rr_wait_up ip netns exec "$RR_NS" ip link show rrtap0
ip netns exec "$RR_NS" ip link set rrtap0 up
ip netns exec "$RR_NS" ip addr add 10.77.0.1/24 dev rrtap0
# a lost ARP answer or SYN costs a retry: wait for the path first
ip netns exec "$RR_NS" ping -c 1 -w 10 -i 0.2 -W 1 10.77.0.2 >/dev/null ||
	{ echo "FAIL: 10.77.0.2 does not answer ping"; fail=1; rr_finish; }

ip netns exec "$RR_NS" timeout -k 5 110 "$CLIENT" 10.77.0.2:5672 --pairs "$PAIRS" \
	--count "$COUNT" --sizes "$SIZES" --window 64 --credit 128 --timeout 100 \
	>"$TMP/client.out" 2>"$TMP/client.err"
rc=$?
cat "$TMP/client.out"
[ $rc = 0 ] || sed 's/^/  client: /' "$TMP/client.err"
rr_check "every message once, in order, CRC right; every delivery accepted (exit $rc)" [ $rc = 0 ]
rr_check ">= 100 MiB moved" "$PY" -c '
import sys
f = dict(kv.split("=") for kv in open(sys.argv[1]).read().split())
b, s = int(f["bytes"]), float(f["seconds"])
print("  %.1f MB (%d bytes) in %.1f s: %.1f MB/s; %s messages" % (b / 1e6, b, s, b / 1e6 / s, f["messages"]))
sys.exit(0 if b >= 100 * 1024 * 1024 else 1)' "$TMP/client.out"

rr_stats "$TMP/stats.json"
rr_check "stats: faults injected, TCP recovered, every delivery settled" \
	"$PY" - "$TMP/stats.json" "$((PAIRS * COUNT))" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
from stats_need import need, failed
w = s['workers'][0]
f = {}
for k in ('drop', 'dup', 'reorder'):
    f[k] = (w.get('fault_rx', {}).get(k, 0), w.get('fault_tx', {}).get(k, 0))
    # both directions are configured: each must have seen some
    need(f[k][0] > 0 and f[k][1] > 0, '%s injected (rx, tx): %s' % (k, f[k]))
tcp = w['net_tcp']
print('  faults (rx, tx): drop %s, dup %s, reorder %s' % (f['drop'], f['dup'], f['reorder']))
print('  TCP: retransmits %d, rx out of order %d, rx duplicate data %d' % (
    tcp.get('retransmits', 0), tcp.get('rx_out_of_order', 0), tcp.get('rx_dup_data', 0)))
need(tcp.get('retransmits', 0) > 0, 'no TCP retransmission')
c = s['totals']['counters']
print('  engine: transfers in %d, out %d, accepted %d' % (
    c['transfers_in'], c['transfers_out'], c['outcome_accepted']))
need(c['transfers_in'] >= n, 'transfers_in %d < %d' % (c['transfers_in'], n))
need(c['transfers_out'] >= n, 'transfers_out %d < %d' % (c['transfers_out'], n))
need(c['outcome_accepted'] >= n, 'outcome_accepted %d < %d' % (c['outcome_accepted'], n))
need(c['presettled_in'] == 0, 'presettled_in %d' % c['presettled_in'])
# every unsettled delivery the router took in got its outcome back: accepted
need(c['unsettled_in'] == c['outcome_accepted'], 'unsettled_in %d, accepted %d' % (
    c['unsettled_in'], c['outcome_accepted']))
for k in ('outcome_rejected', 'outcome_released', 'outcome_modified'):
    need(c[k] == 0, '%s %d' % (k, c[k]))
sys.exit(1 if failed() else 0)
EOF
rr_stop_router
rr_finish
