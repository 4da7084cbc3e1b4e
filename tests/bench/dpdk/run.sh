#!/bin/bash
# Smoke test of rpcrouter-bench's DPDK mode (issue 6): rpcrouterd with the
# dpdk driver on a net_memif server port, the generator in DPDK mode on
# the client end of the same memif (a unix socket file in a temporary
# directory: no kernel network, no namespace), both on the native TCP/IP
# of dataplane/net:
#   throughput --count 100000 pre-settled: exit 0, every message received
#   rpc --count 1000 (dynamic reply address): exit 0, every call answered
#   the generator resolved the router by ARP; the router's stats count the
#   transfers and the native connections; SIGTERM to rpcrouterd: exit 0
# The msg/s and latency seen are printed, never asserted.
# With MTU (e.g. 9000): jumbo frames, dpdkMtu on the router and --dpdk-mtu
# on the generator, memif buffers of a whole frame on both ends (bsize=;
# drv_dpdk_mtu.h says why): the router must send TCP segments longer than
# a 1500-byte MTU allows and get no frame in pieces (rx_multiseg 0); and
# the same MTU without bsize= is refused at start with the reason.
# Skipped (exit 77) unless root and the net_memif PMD is installed. It
# removes what it creates (temporary directory, EAL runtime directories of
# its own prefixes) and ends only its own processes, by pid.
#
# Usage: run.sh RPCROUTERD RPCROUTER_CTL RPCROUTER_BENCH [MTU]
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
BENCH=${3:?rpcrouter-bench}
MTU=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../system/dpdk/lib.sh" # rr_* set-up and clean-up

rr_need_root "DPDK EAL, memif"
rr_need_pmd memif

PR=rrbdr$$ # EAL file prefixes: the router's and the generator's
PB=rrbdb$$
rr_prefix "$PR"
rr_prefix "$PB"
rr_tmp rrbdpdk

# router: control on CPU 0, its worker on CPU 1 (0 on a 1-CPU machine);
# the generator on CPU 0. The idle back-offs keep a shared CI machine
# usable; they cost latency, so the figures here are not the benchmark's.
BSIZE=${MTU:+,bsize=$((MTU + 14))}
if [ -n "$MTU" ]; then
	# without buffers of a frame: refused, the reason named
	rr_conf rrbenchdpdk 1 "$PR" net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no \
		10.79.0.2/24 50 "dpdkMtu: $MTU"
	timeout -k 5 30 "$RPCROUTERD" -c "$TMP/rr.conf" >"$TMP/refused.log" 2>&1
	rc=$?
	rm -rf "/var/run/dpdk/$PR"
	rr_check "dpdkMtu $MTU over memif without bsize=: start refused (exit $rc)" [ $rc != 0 ]
	rr_check "the refusal names bsize=$((MTU + 14))" grep -q "needs bsize=$((MTU + 14))" "$TMP/refused.log"
fi
rr_conf rrbenchdpdk 1 "$PR" net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no$BSIZE \
	10.79.0.2/24 50 ${MTU:+"dpdkMtu: $MTU"}
rr_start_router 100 "$TMP/rr.conf"
rr_wait_up test -S "$TMP/memif.sock"

run_bench() { # run_bench OUT SCENARIO ARGS...
	local out=$1
	shift
	timeout -k 5 60 "$BENCH" "$@" --url amqp://10.79.0.2:5672 \
		--dpdk "-l 0 --no-huge -m 512 --file-prefix $PB --no-pci" \
		--dpdk-port "net_memif0,role=client,socket=$TMP/memif.sock,socket-abstract=no$BSIZE" \
		--dpdk-address 10.79.0.1/24 --dpdk-idle-us 50 --cpus 0 --timeout 40 --quiet \
		${MTU:+--dpdk-mtu "$MTU"} \
		--out "$out" 2>"$out.err"
	local rc=$?
	rm -rf "/var/run/dpdk/$PB"
	[ $rc = 0 ] || { echo "  rpcrouter-bench exit $rc:"; cat "$out.err"; }
	return $rc
}

# JSON checks of one result line: expected received count
verify() { # verify FILE COUNT
	"$PY" - "$1" "$2" <<'EOP'
import json, sys
l = json.loads(open(sys.argv[1]).read().splitlines()[-1])
n = int(sys.argv[2])
r, d = l['results'], l['dpdk']
ok = True
def need(cond, what):
    global ok
    if not cond:
        print('  ' + what)
        ok = False
need(l['error'] == '', 'error %r' % l['error'])
need(l['params'].get('io') == 'dpdk', 'params.io %r' % l['params'].get('io'))
need(r['sent'] == n and r['received'] == n, 'sent %d received %d' % (r['sent'], r['received']))
need(r['lost'] == 0 and r['duplicates'] == 0 and r['out_of_order'] == 0,
     'lost %d dup %d ooo %d' % (r['lost'], r['duplicates'], r['out_of_order']))
need(d['arp_resolved'], 'the router was never resolved by ARP')
need(d['net_tcp'].get('active_opens', 0) >= 2, 'active opens %s' % d['net_tcp'].get('active_opens'))
need(d['rx_packets'] > 0 and d['tx_packets'] > 0, 'packets rx %d tx %d' % (d['rx_packets'], d['tx_packets']))
lat = r['latency_us']
print('  %s: %.0f msg/s, p50 %.1f us, p99 %.1f us, %d TCP retransmits (not asserted)' % (
    l['scenario'], r['msg_per_s'], lat['p50'], lat['p99'], d['net_tcp'].get('retransmits', 0)))
sys.exit(0 if ok else 1)
EOP
}

if run_bench "$TMP/tp.json" throughput --count 100000 --presettled; then
	rr_check "throughput 100000 pre-settled over memif, 0 lost" verify "$TMP/tp.json" 100000
else
	rr_check "throughput 100000 pre-settled over memif" false
fi
if run_bench "$TMP/rpc.json" rpc --count 1000; then
	rr_check "rpc 1000 calls over memif" verify "$TMP/rpc.json" 1000
else
	rr_check "rpc 1000 calls over memif" false
fi

rr_stats "$TMP/stats.json"
rr_check "router stats: transfers and native connections" "$PY" - "$TMP/stats.json" "$MTU" <<'EOP'
import json, sys
s = json.load(open(sys.argv[1]))
mtu = int(sys.argv[2] or 1500)
c = s['totals']['counters']
w = s['workers'][0]
tcp, drv = w['net_tcp'], w['driver']
ok = s['driver'] == 'dpdk' and c['transfers_in'] >= 102000 and c['presettled_in'] >= 100000 \
    and tcp['passive_opens'] >= 4
if not ok:
    print('  driver %s transfers_in %d presettled_in %d passive_opens %d' % (
        s['driver'], c['transfers_in'], c['presettled_in'], tcp['passive_opens']))
# bytes per segment that carried data: at most 1448 (1500 - 40 - the
# timestamp option) without jumbo frames
data_segs = tcp['tx_segments'] - tcp['tx_acks'] - tcp['tx_window_updates']
per_seg = tcp['tx_bytes'] / max(data_segs, 1)
print('  %.0f TCP payload bytes per data segment sent, %d multi-mbuf drops' % (
    per_seg, drv['rx_multiseg']))
if drv['rx_multiseg'] != 0:
    print('  frames dropped for being in several mbufs')
    ok = False
if mtu > 1500:
    if per_seg <= 1448:
        print('  no segment longer than a 1500-byte MTU allows')
        ok = False
sys.exit(0 if ok else 1)
EOP

rr_stop_router
rr_finish
