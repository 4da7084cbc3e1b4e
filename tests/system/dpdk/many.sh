#!/bin/bash
# 10,000 concurrent connections on one dpdk worker (issue 6), each with a
# receiving link attached: rpcrouterd on net_tap in a network namespace of
# its own (no idle timeout: 12 busy python processes may miss their
# heartbeats on a loaded machine), 12 python3-qpid-proton processes of 850 connections each (the
# python reactor uses select(): under 1024 descriptors per process),
# started a moment apart. Checks that every connection opened and every
# link attached while all were open (rpcrouter-ctl stats: connections,
# addresses), and that SIGTERM then stops the router with exit 0.
# Skipped (exit 77) as run.sh. CPU heavy (about 40 s on 2 cores).
#
# Usage: many.sh RPCROUTERD RPCROUTER_CTL
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
HERE=$(cd "$(dirname "$0")" && pwd)
PROCS=12
PER=850
TOTAL=$((PROCS * PER))
CPIDS=() # the clients (lib.sh ends them on exit too)
. "$HERE/lib.sh"

rr_need_root "network namespaces, tap devices"
rr_need_netns
rr_need_proton
rr_need_pmd tap

rr_tmp rrdpdkmany
rr_netns "rrdpdk-many-$$"
NS=$RR_NS
PREFIX=rrdpdkmany$$
rr_prefix "$PREFIX"
# no idle timeout: 12 busy python processes may miss their heartbeats
RR_LISTENER_EXTRA="idleTimeoutSeconds: 0"
rr_conf rrdpdkmany 1 "$PREFIX" net_tap0,iface=rrtap0 10.77.0.2/24 100 \
	"handshakeTimeoutSeconds: 60"
rr_start_router 200 "$TMP/rr.conf" "$NS"
rr_wait_up ip netns exec "$NS" ip link show rrtap0
# the kernel's queue towards the PMD: a SYN storm of 10k overflows the
# default 1000 while the worker shares its core with the clients
ip netns exec "$NS" ip link set rrtap0 txqueuelen 20000
ip netns exec "$NS" ip link set rrtap0 up
ip netns exec "$NS" ip addr add 10.77.0.1/24 dev rrtap0

for i in $(seq $PROCS); do
	rr_bg ip netns exec "$NS" timeout -k 5 150 "$PY" "$HERE/dpdk_client.py" \
		--url amqp://10.77.0.2:5672 --timeout 120 --connections $PER --receivers \
		--only connections --hold 30 >"$TMP/client$i.log" 2>&1
	CPIDS+=("$RR_LAST_PID")
	sleep 0.3
done
# every client says "all N attached" once its links are; then they hold
all=0
for _ in $(seq 120); do
	n=$(grep -l "all $PER attached" "$TMP"/client*.log 2>/dev/null | wc -l)
	[ "$n" = $PROCS ] && { all=1; break; }
	sleep 1
done
rr_stats "$TMP/stats.json"
rr_check "$TOTAL connections, each with a receiver attached" [ $all = 1 ]
rr_check "stats while all are open" "$PY" - "$TMP/stats.json" $TOTAL $PER <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
total, per = int(sys.argv[2]), int(sys.argv[3])
w = s['workers'][0]
print('  %d connections, %d addresses; TCP: %d retransmits; drops: %s' % (
    w['connections'], s['control']['addresses'], w['net_tcp']['retransmits'],
    {k: v for k, v in w['drops'].items() if v}))
ok = w['connections'] >= total and s['control']['addresses'] >= per and \
    w['counters']['links_attached'] >= total
sys.exit(0 if ok else 1)
EOF
for p in "${CPIDS[@]}"; do
	wait "$p" || { echo "FAIL: a client failed"; fail=1; }
done
grep -h "FAIL" "$TMP"/client*.log | sort | uniq -c
rr_stop_router
rr_finish
