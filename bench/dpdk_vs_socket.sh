#!/bin/bash
# The dpdk driver beside the socket driver, in one run (issue 6's
# benchmark; docs/performance.md "dpdk driver vs socket driver"):
#
#   (a) rpcrouterd, dpdk driver, 1 worker on core 1 (--lcores 0@0,1@1:
#       control on lcore 0 = core 0), a net_memif server port, no idle
#       back-off (the worker spins); rpcrouter-bench in DPDK mode on core 0
#       as the memif client, in its own process, no idle back-off either
#   (b) rpcrouterd, socket driver, 1 worker pinned to core 1 (dataplane
#       cpus: 1); rpcrouter-bench over loopback sockets on core 0
#
# Each round runs (a) then (b), ROUNDS times alternating, each router
# started fresh for its round and stopped after it. Per router per round:
#   throughput: 100-byte pre-settled messages 1 -> 1 for DURATION seconds,
#     msg/s = the bench's received transfers / its measured window
#   rpc: COUNT calls with 1 in flight, p50 / p99 round trip
# Router CPU: the bench's --router-pid sample over its measured window
# (utime + stime of every thread: a spinning dpdk worker is ~1 CPU by
# itself), its kernel share (stime / (utime + stime), 10 ms ticks: for the
# socket driver the system calls and the kernel's TCP on its behalf) and
# router CPU cycles per message (TSC Hz / msg per router CPU-s). Busy CPU
# (dpdk only): the driver's busy_cycles / tsc_hz from
# rpcrouter-ctl stats before and after the run (so it spans the bench's
# connect and drain too), and busy cycles per message = delta busy_cycles /
# delta transfers_in of the router. The TSC counts wall time: gaps of more
# than 200 us between polls (the worker preempted on a shared core) are the
# driver's stalled_cycles, shown apart; on a quiet machine they are ~0.
#
#   bench/dpdk_vs_socket.sh [-b BUILD] [-r ROUNDS] [-d DURATION] [-c RPC_CALLS]
#                           [-o OUT_DIR] [--huge] [--mtu MTU] [--memif OPTS]
#
# BUILD (default build-perf-rel; meson setup build-perf-rel
# --buildtype=release -Dtests=disabled && ninja -C build-perf-rel) must
# hold control/rpcrouterd, control/rpcrouter-ctl and bench/rpcrouter-bench;
# nothing is built here. Needs root and the net_memif PMD.
# Memory: --no-huge -m 512 (the default), or --huge: 512 2-MB hugepages
# (nr_hugepages raised to 512 if lower and hugetlbfs mounted on
# /dev/hugepages if it is not; both put back on exit).
# --mtu: the dpdk side's IP MTU (dpdkMtu and --dpdk-mtu; default 1500), with
# memif buffers of a whole frame on both ends (bsize=MTU+14, docs/dpdk.md
# "MTU and jumbo frames"); the socket side is loopback (MTU 65536) either way.
# --memif: more memif devargs for both ends, e.g. rsize=7 (128-slot rings:
# docs/dpdk.md "net_memif ring size").
# Prints a markdown table (medians over rounds, and each round); the JSON
# result lines and the stats are kept in OUT_DIR (default a temporary
# directory, printed). Every process is started under timeout -k and ended
# by pid; the EAL runtime directories of this run's prefixes are removed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build-perf-rel
rounds=3
duration=10
rpc_calls=20000
outdir=
huge=0
mtu=1500
memif_extra=
PY=/usr/bin/python3
RCPU=${RCPU:-1} # the router's worker
GCPU=${GCPU:-0} # the generator and the router's control thread

while [ $# -gt 0 ]; do
	case $1 in
	-b) build=$(cd "$2" && pwd); shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	-d) duration=$2; shift 2 ;;
	-c) rpc_calls=$2; shift 2 ;;
	-o) outdir=$2; shift 2 ;;
	--huge) huge=1; shift ;;
	--mtu) mtu=$2; shift 2 ;;
	--memif) memif_extra=,$2; shift 2 ;;
	-h | --help) sed -n '2,47p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
RPCROUTERD=$build/control/rpcrouterd
CTL=$build/control/rpcrouter-ctl
BENCH=$build/bench/rpcrouter-bench
for b in "$RPCROUTERD" "$CTL" "$BENCH"; do
	[ -x "$b" ] || { echo "missing $b (build it first)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (DPDK EAL, memif)" >&2; exit 2; }
ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_net_memif.so* >/dev/null 2>&1 ||
	{ echo "no net_memif PMD" >&2; exit 2; }

# a frame in one memif buffer (DPDK 22.11's memif joins frames that span
# buffers: docs/dpdk-notes.md 7); 1500 fits the default 2048
MEMIF_OPT=
[ "$mtu" = 1500 ] || MEMIF_OPT=,bsize=$((mtu + 14))
MEMIF_OPT=$MEMIF_OPT$memif_extra
TMP=$(mktemp -d /tmp/rrdvs.XXXXXX)
[ -n "$outdir" ] || outdir=$TMP/out
mkdir -p "$outdir"
PR=rrdvsr$$
PB=rrdvsb$$
TPID= # timeout's pid of the running router
RPID= # the router's own pid
huge_old=
huge_mounted=0
if [ $huge = 1 ]; then
	MEM="-m 512"
	huge_old=$(cat /proc/sys/vm/nr_hugepages)
	[ "$huge_old" -ge 512 ] || echo 512 >/proc/sys/vm/nr_hugepages
	if ! grep -q ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && huge_mounted=1
	fi
	[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ] ||
		{ echo "could not get 512 hugepages" >&2; }
	HUGE_CFG=yes
else
	MEM="--no-huge -m 512"
	HUGE_CFG=no
fi

stop_router() {
	if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
		[ -n "$RPID" ] && kill -TERM "$RPID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$TPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$TPID" 2>/dev/null
		[ -n "$RPID" ] && kill -KILL "$RPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
	fi
	TPID=
	RPID=
	rm -rf "/var/run/dpdk/$PR" "$TMP/memif.sock" "$TMP/ctl.sock"
}
cleanup() {
	stop_router
	rm -rf "/var/run/dpdk/$PB"
	if [ -n "$huge_old" ]; then
		echo "$huge_old" >/proc/sys/vm/nr_hugepages
		[ $huge_mounted = 1 ] && umount /dev/hugepages
	fi
	[ "$outdir" = "$TMP/out" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_router dpdk|socket
start_router() {
	local drv=$1 port=5672
	if [ "$drv" = dpdk ]; then
		cat >"$TMP/rr.conf" <<EOC
router {
    mode: standalone
    id: rrdvs
}
listener {
    host: 0.0.0.0
    port: $port
    saslMechanisms: ANONYMOUS
}
dataplane {
    driver: dpdk
    workers: 1
    hugepages: $HUGE_CFG
    dpdkEal: --lcores=0@$GCPU,1@$RCPU -m 512 --file-prefix $PR --no-pci
    dpdkPorts: net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no$MEMIF_OPT
    dpdkAddress: 10.79.0.2/24
    dpdkMtu: $mtu
    controlSocket: $TMP/ctl.sock
}
EOC
	else
		port=$((20000 + $$ % 20000))
		cat >"$TMP/rr.conf" <<EOC
router {
    mode: standalone
    id: rrdvs
}
listener {
    host: 127.0.0.1
    port: $port
    saslMechanisms: ANONYMOUS
}
dataplane {
    driver: socket
    workers: 1
    cpus: $RCPU
    controlSocket: $TMP/ctl.sock
}
EOC
	fi
	SOCK_PORT=$port
	timeout -k 5 $((duration * 4 + 200)) "$RPCROUTERD" -c "$TMP/rr.conf" >>"$outdir/rr-$drv.log" 2>&1 &
	TPID=$!
	for _ in $(seq 100); do
		if [ -S "$TMP/ctl.sock" ] && { [ "$drv" = socket ] || [ -S "$TMP/memif.sock" ]; }; then
			RPID=$(pgrep -P "$TPID" -x rpcrouterd)
			[ -n "$RPID" ] && return 0
		fi
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "rpcrouterd ($drv) did not come up; $outdir/rr-$drv.log" >&2
	tail -5 "$outdir/rr-$drv.log" >&2
	return 1
}

# bench DRV TAG SCENARIO ARGS...: one bench run with stats around it
bench() {
	local drv=$1 tag=$2
	shift 2
	local io
	if [ "$drv" = dpdk ]; then
		io=(--url amqp://10.79.0.2:5672 --dpdk "-l $GCPU $MEM --file-prefix $PB --no-pci"
			--dpdk-port "net_memif0,role=client,socket=$TMP/memif.sock,socket-abstract=no$MEMIF_OPT"
			--dpdk-address 10.79.0.1/24 --dpdk-mtu "$mtu" --cpus "$GCPU")
	else
		io=(--url "amqp://127.0.0.1:$SOCK_PORT" --cpus "$GCPU")
	fi
	"$CTL" --socket "$TMP/ctl.sock" stats --json >"$outdir/$tag.before.json"
	timeout -k 5 $((duration + 60)) "$BENCH" "$@" "${io[@]}" --router-pid "$RPID" \
		--label "rpcrouterd-$drv" --timeout $((duration + 40)) --quiet \
		--out "$outdir/$tag.json" 2>"$outdir/$tag.err"
	local rc=$?
	"$CTL" --socket "$TMP/ctl.sock" stats --json >"$outdir/$tag.after.json"
	rm -rf "/var/run/dpdk/$PB"
	[ $rc = 0 ] || { echo "  $tag: rpcrouter-bench exit $rc" >&2; tail -3 "$outdir/$tag.err" >&2; }
	return 0
}

echo "dpdk_vs_socket: build $build, $rounds rounds, ${duration}s throughput, $rpc_calls rpc calls," \
	"memory: $([ $huge = 1 ] && echo "512 x 2 MB hugepages" || echo "--no-huge -m 512"), out $outdir"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
start_s=$(date +%s)
for r in $(seq "$rounds"); do
	for drv in dpdk socket; do
		start_router $drv || exit 1
		bench $drv "$drv-tp-$r" throughput --duration "$duration" --presettled --body-size 100 \
			--senders 1 --receivers 1 $([ $drv = socket ] && echo "--threads 2")
		bench $drv "$drv-rpc-$r" rpc --count "$rpc_calls" --inflight 1 --body-size 100 \
			$([ $drv = socket ] && echo "--threads 2")
		stop_router
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg), $(($(date +%s) - start_s)) s"

echo "dpdk side: net_memif, IP MTU $mtu${MEMIF_OPT:+ (memif$MEMIF_OPT on both ends)}"
"$PY" - "$outdir" "$rounds" <<'EOP'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def last(path):
    try:
        return json.loads(open(path).read().splitlines()[-1])
    except Exception:
        return None

def stats(path):
    try:
        return json.load(open(path))
    except Exception:
        return None

def wsum(s, group, name):
    return sum(w.get(group, {}).get(name, 0) for w in s['workers'])

rows = {}  # (drv, metric) -> [value per round]
tsc_hz = 0  # from the dpdk runs' stats: the host's TSC, for cycles per message

def put(drv, metric, v):
    rows.setdefault((drv, metric), []).append(v)

for r in range(1, rounds + 1):
    for drv in ('dpdk', 'socket'):
        tp = last(f'{out}/{drv}-tp-{r}.json')
        if tp and not tp.get('error'):
            res = tp['results']
            put(drv, 'msg/s', res['msg_per_s'])
            put(drv, 'received', res['received'])
            put(drv, 'lost', res['lost'])
            cpu = tp.get('router', {}).get('cpu_s', 0)
            put(drv, 'router CPU-s', cpu)
            ut, st = tp.get('router', {}).get('user_s', 0), tp.get('router', {}).get('system_s', 0)
            put(drv, 'kernel share of router CPU', st / (ut + st) if ut + st else 0)
            win = res.get('received', 0) / res['msg_per_s'] if res['msg_per_s'] else 0
            put(drv, 'window s', win)
            put(drv, 'msg per router CPU-s', tp.get('router', {}).get('msg_per_router_cpu_s', 0))
            b, a = stats(f'{out}/{drv}-tp-{r}.before.json'), stats(f'{out}/{drv}-tp-{r}.after.json')
            if drv == 'dpdk' and a and b:
                busy = wsum(a, 'driver', 'busy_cycles') - wsum(b, 'driver', 'busy_cycles')
                idle = wsum(a, 'driver', 'idle_cycles') - wsum(b, 'driver', 'idle_cycles')
                stall = wsum(a, 'driver', 'stalled_cycles') - wsum(b, 'driver', 'stalled_cycles')
                hz = a['workers'][0]['driver'].get('tsc_hz', 0)
                tsc_hz = tsc_hz or hz
                n = a['totals']['counters']['transfers_in'] - b['totals']['counters']['transfers_in']
                if hz and n:
                    put(drv, 'busy cycles per msg', busy / n)
                    tot = busy + idle + stall
                    put(drv, 'busy share of the worker', busy / tot if tot else 0)
                    put(drv, 'stalled share (preempted)', stall / tot if tot else 0)
                    put(drv, 'msg per busy CPU-s', n / (busy / hz) if busy else 0)
        else:
            put(drv, 'msg/s', None)
        rpc = last(f'{out}/{drv}-rpc-{r}.json')
        if rpc and not rpc.get('error'):
            lat = rpc['results']['latency_us']
            put(drv, 'rpc p50 us', lat['p50'])
            put(drv, 'rpc p99 us', lat['p99'])
            put(drv, 'rpc calls/s', rpc['results']['msg_per_s'])

# process CPU per message in TSC cycles (the dpdk figure counts the
# spinning worker's idle polls too; its busy cycles per message do not)
for drv in ('dpdk', 'socket'):
    for x in rows.get((drv, 'msg per router CPU-s'), []):
        put(drv, 'router CPU cycles per msg', tsc_hz / x if tsc_hz and x else None)

def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None

def fmt(metric, v):
    if v is None:
        return 'failed'
    if metric in ('busy share of the worker', 'stalled share (preempted)',
                  'kernel share of router CPU'):
        return f'{100 * v:.0f}%'
    if metric in ('router CPU-s', 'window s'):
        return f'{v:.2f}'
    if metric.startswith('rpc p') or metric.endswith('cycles per msg'):
        return f'{v:.1f}'
    return f'{v:,.0f}'

metrics = ['msg/s', 'lost', 'window s', 'router CPU-s', 'kernel share of router CPU',
           'msg per router CPU-s', 'router CPU cycles per msg', 'busy cycles per msg', 'busy share of the worker', 'stalled share (preempted)',
           'msg per busy CPU-s',
           'rpc p50 us', 'rpc p99 us', 'rpc calls/s']
print()
print('| metric (median of %d rounds) | dpdk (memif) | socket | dpdk / socket | rounds: dpdk ; socket |' % rounds)
print('|---|---:|---:|---:|---|')
for m in metrics:
    d, s = med(rows.get(('dpdk', m), [])), med(rows.get(('socket', m), []))
    ratio = f'{d / s:.2f}x' if d is not None and s and m not in ('lost', 'window s') else ''
    each = ' '.join(fmt(m, x) for x in rows.get(('dpdk', m), [])) + ' ; ' + \
           ' '.join(fmt(m, x) for x in rows.get(('socket', m), []))
    print(f'| {m} | {fmt(m, d) if d is not None or ("dpdk", m) in rows else "–"} | '
          f'{fmt(m, s) if s is not None or ("socket", m) in rows else "–"} | {ratio} | {each} |')
d_cpu = med(rows.get(('dpdk', 'msg per router CPU-s'), []))
d_busy = med(rows.get(('dpdk', 'msg per busy CPU-s'), []))
s_cpu = med(rows.get(('socket', 'msg per router CPU-s'), []))
d_tp = med(rows.get(('dpdk', 'msg/s'), []))
p50 = med(rows.get(('dpdk', 'rpc p50 us'), []))
p99 = med(rows.get(('dpdk', 'rpc p99 us'), []))
print()
def verdict(ok):
    return 'met' if ok else 'MISSED'
if d_tp is not None:
    print(f'- >= 2,000,000 msg/s per worker core: {d_tp:,.0f} ({verdict(d_tp >= 2e6)})')
if d_cpu and s_cpu:
    print(f'- >= 4x socket msg per router CPU-s, process CPU time: {d_cpu / s_cpu:.2f}x ({verdict(d_cpu >= 4 * s_cpu)})')
if d_busy and s_cpu:
    print(f'- >= 4x socket msg per router CPU-s, dpdk busy cycles only: {d_busy / s_cpu:.2f}x ({verdict(d_busy >= 4 * s_cpu)})')
if p50 is not None:
    print(f'- rpc 1 in flight p50 <= 15 us: {p50:.1f} ({verdict(p50 <= 15)}); p99 <= 40 us: {p99:.1f} ({verdict(p99 <= 40)})')
EOP
