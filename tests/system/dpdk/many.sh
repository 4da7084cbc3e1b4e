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
PY=/usr/bin/python3
PROCS=12
PER=850
TOTAL=$((PROCS * PER))

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tap devices)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
"$PY" -c 'import proton' 2>/dev/null || skip "no python3-qpid-proton"
ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_net_tap.so* >/dev/null 2>&1 ||
	skip "no net_tap PMD (apt-get install dpdk)"

NS=rrdpdk-many-$$
PREFIX=rrdpdkmany$$
TMP=$(mktemp -d /tmp/rrdpdkmany.XXXXXX)
TPID=
CPIDS=()
fail=0
cleanup() {
	for p in "${CPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
		kill -TERM "$TPID" 2>/dev/null
		sleep 1
		kill -KILL "$TPID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "/var/run/dpdk/$PREFIX" "$TMP"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
cat >"$TMP/rr.conf" <<EOF
listener {
    host: 0.0.0.0
    port: 5672
    idleTimeoutSeconds: 0
}
dataplane {
    driver: dpdk
    workers: 1
    dpdkEal: -l 0,1 -m 1024 --file-prefix $PREFIX --no-pci
    dpdkPorts: net_tap0,iface=rrtap0
    dpdkAddress: 10.77.0.2/24
    dpdkIdleBackoffUs: 100
    handshakeTimeoutSeconds: 60
    controlSocket: $TMP/ctl.sock
}
EOF
timeout -k 5 200 ip netns exec "$NS" "$RPCROUTERD" -c "$TMP/rr.conf" >"$TMP/rr.log" 2>&1 &
TPID=$!
for _ in $(seq 100); do
	ip netns exec "$NS" ip link show rrtap0 >/dev/null 2>&1 && [ -S "$TMP/ctl.sock" ] && break
	sleep 0.1
done
[ -S "$TMP/ctl.sock" ] || { echo "FAIL: rpcrouterd did not come up"; cat "$TMP/rr.log"; exit 1; }
# the kernel's queue towards the PMD: a SYN storm of 10k overflows the
# default 1000 while the worker shares its core with the clients
ip netns exec "$NS" ip link set rrtap0 txqueuelen 20000
ip netns exec "$NS" ip link set rrtap0 up
ip netns exec "$NS" ip addr add 10.77.0.1/24 dev rrtap0

for i in $(seq $PROCS); do
	ip netns exec "$NS" timeout -k 5 150 "$PY" "$HERE/dpdk_client.py" --url amqp://10.77.0.2:5672 \
		--timeout 120 --connections $PER --receivers --only connections --hold 30 \
		>"$TMP/client$i.log" 2>&1 &
	CPIDS+=($!)
	sleep 0.3
done
# every client says "all N attached" once its links are; then they hold
all=0
for _ in $(seq 120); do
	n=$(grep -l "all $PER attached" "$TMP"/client*.log 2>/dev/null | wc -l)
	[ "$n" = $PROCS ] && { all=1; break; }
	sleep 1
done
"$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json >"$TMP/stats.json"
check "$TOTAL connections, each with a receiver attached" [ $all = 1 ]
check "stats while all are open" "$PY" - "$TMP/stats.json" $TOTAL $PER <<'EOF'
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
CPIDS=()
grep -h "FAIL" "$TMP"/client*.log | sort | uniq -c
RPID=$(pgrep -P "$TPID" -x rpcrouterd)
if [ -n "$RPID" ]; then
	kill -TERM "$RPID"
	wait "$TPID"
	rc=$?
	TPID=
	check "SIGTERM: exit 0 (got $rc)" [ "$rc" = 0 ]
else
	echo "FAIL: rpcrouterd is not running"
	fail=1
fi
[ $fail = 0 ] || tail -20 "$TMP/rr.log"
exit $fail
