#!/bin/bash
# No system calls in the dpdk worker's poll loop (issue 6): `strace -c -p
# <worker tid>` for 10 s of steady load on rpcrouterd's only worker
# (thread rr-worker-0, dataplane/dp_worker.c names it), started once the
# connections are up and messages flow (control's wake-ups at connection
# set-up are outside the window), then:
#   PORT memif: net_memif server, rpcrouter-bench's DPDK mode on the client
#     end (its own EAL process, lcore on CPU 0): the summary lists no
#     system call at all;
#   PORT af_packet: net_af_packet on a veth pair in a namespace of its own,
#     rpcrouter-bench with kernel sockets on the other end: only sendto
#     (the PMD's tx kick, one per non-empty tx burst).
# The load is rpcrouter-bench throughput, unsettled (transfers one way,
# dispositions the other), which must end with every message received; the
# router's transfer count must grow by >= 10,000 during the window. The
# worker runs with dpdkIdleBackoffUs 0 (the back-off's sleep is a system
# call), so it spins at 100% of its CPU for this test's ~20 s.
# Skipped (exit 77) unless root, strace, the PMD (and for af_packet `ip
# netns`) are there; removes what it creates, ends only its own processes.
#
# Usage: strace.sh RPCROUTERD RPCROUTER_CTL RPCROUTER_BENCH PORT
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
BENCH=${3:?rpcrouter-bench}
PORT=${4:?memif or af_packet}
WINDOW=10
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

rr_need_root "DPDK EAL, ptrace of the worker"
rr_need_cmd strace strace
rr_need_pmd "$PORT"
[ "$PORT" = af_packet ] && rr_need_netns

rr_tmp rrdpdkstrace
PREFIX=rrdst$$
rr_prefix "$PREFIX"
NS=
case $PORT in
memif)
	SPEC=net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no
	ADDR=10.79.0.2
	;;
af_packet)
	rr_netns "rrdpdk-strace-$$"
	NS=$RR_NS
	ip netns exec "$NS" ip link add veth-k type veth peer name veth-d || exit 1
	ip netns exec "$NS" ip link set veth-d up
	SPEC=net_af_packet0,iface=veth-d
	ADDR=10.77.0.2
	;;
*)
	echo "FAIL: port $PORT: memif or af_packet"
	exit 1
	;;
esac
# no idle back-off: its sleep is a system call
rr_conf rrdpdkstrace 1 "$PREFIX" "$SPEC" $ADDR/24 0
rr_start_router 60 "$TMP/rr.conf" "$NS"
if [ "$PORT" = memif ]; then
	rr_wait_up test -S "$TMP/memif.sock"
else
	rr_wait_up true
	ip netns exec "$NS" ip link set veth-k up
	ip netns exec "$NS" ip addr add 10.77.0.1/24 dev veth-k
	ip netns exec "$NS" "$PY" "$HERE/tx_csum_off.py" veth-k || exit 1
fi
RPID=$(rr_router_pid)
TID=
for t in /proc/"$RPID"/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = rr-worker-0 ] && TID=${t##*/}
done
[ -n "$TID" ] || { echo "FAIL: no thread rr-worker-0 in rpcrouterd ($RPID)"; fail=1; rr_finish; }

# the load: WINDOW + 4 s measured, so it covers the strace window
DUR=$((WINDOW + 4))
if [ "$PORT" = memif ]; then
	BPREFIX=rrdsb$$
	rr_prefix "$BPREFIX"
	rr_bg timeout -k 5 $((DUR + 40)) "$BENCH" throughput --duration $DUR \
		--url amqp://$ADDR:5672 \
		--dpdk "-l 0 --no-huge -m 512 --file-prefix $BPREFIX --no-pci" \
		--dpdk-port "net_memif0,role=client,socket=$TMP/memif.sock,socket-abstract=no" \
		--dpdk-address 10.79.0.1/24 --dpdk-idle-us 50 --cpus 0 --timeout $((DUR + 30)) \
		--quiet --out "$TMP/bench.json" 2>"$TMP/bench.err"
else
	rr_bg timeout -k 5 $((DUR + 40)) ip netns exec "$NS" "$BENCH" throughput --duration $DUR \
		--url amqp://$ADDR:5672 --allow-remote --cpus 0 --timeout $((DUR + 30)) \
		--quiet --out "$TMP/bench.json" 2>"$TMP/bench.err"
fi
BPID=$RR_LAST_PID

transfers() {
	"$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["totals"]["counters"]["transfers_in"])'
}
# steady state: messages flowing for a second
flowing=0
for _ in $(seq 150); do
	n=$(transfers 2>/dev/null)
	if [ "${n:-0}" -gt 1000 ]; then
		flowing=1
		break
	fi
	kill -0 "$BPID" 2>/dev/null || break
	sleep 0.1
done
rr_check "load flowing before the window" [ $flowing = 1 ]
if [ $flowing = 0 ]; then
	wait "$BPID"
	cat "$TMP/bench.err"
	rr_finish
fi
sleep 1
before=$(transfers)
# in the background and waited for: a signal's trap (lib.sh) runs at once
# then, not after a foreground command of its own process group is over
rr_bg timeout -k 5 -s INT $((WINDOW)) strace -c -o "$TMP/strace.out" -p "$TID" 2>"$TMP/strace.err"
wait "$RR_LAST_PID"
after=$(transfers)
# a container without CAP_SYS_PTRACE (or a Yama policy) forbids the attach
grep -q "Operation not permitted" "$TMP/strace.err" &&
	rr_skip "strace may not attach here: $(head -1 "$TMP/strace.err")"
echo "  strace -c -p $TID (rr-worker-0) for ${WINDOW} s, $((after - before)) transfers in:"
if [ -s "$TMP/strace.out" ]; then sed 's/^/    /' "$TMP/strace.out"; else echo "    (empty summary: no system call)"; fi
grep -q "attached" "$TMP/strace.err" || { echo "  strace:"; cat "$TMP/strace.err"; }
rr_check "strace attached to the worker" grep -q "Process $TID attached" "$TMP/strace.err"
rr_check "the router moved >= 10000 transfers in the window" [ $((after - before)) -ge 10000 ]
# the syscall rows of the summary (the header, rulers and total left out)
calls=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF }' "$TMP/strace.out" | sort -u | tr '\n' ' ')
if [ "$PORT" = memif ]; then
	rr_check "memif: no system call in the worker (saw: ${calls:-none})" [ -z "$calls" ]
else
	rr_check "af_packet: only sendto in the worker (saw: ${calls:-none})" [ "$calls" = "sendto " ]
fi

wait "$BPID"
brc=$?
rr_check "rpcrouter-bench exit 0 (got $brc)" [ $brc = 0 ]
[ $brc = 0 ] || cat "$TMP/bench.err"
[ -s "$TMP/bench.json" ] && "$PY" - "$TMP/bench.json" <<'EOF'
import json, sys
l = json.loads(open(sys.argv[1]).read().splitlines()[-1])
r = l['results']
print('  bench: %d sent, %d received, %d lost, %.0f msg/s (not asserted)' % (
    r['sent'], r['received'], r['lost'], r['msg_per_s']))
EOF
rr_stop_router
rr_finish
