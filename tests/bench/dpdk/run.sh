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
# Skipped (exit 77) unless root and the net_memif PMD is installed. It
# removes what it creates (temporary directory, EAL runtime directories of
# its own prefixes) and ends only its own processes, by pid.
#
# Usage: run.sh RPCROUTERD RPCROUTER_CTL RPCROUTER_BENCH
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
BENCH=${3:?rpcrouter-bench}
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
rr_conf rrbenchdpdk 1 "$PR" net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no \
	10.79.0.2/24 50
rr_start_router 100 "$TMP/rr.conf"
rr_wait_up test -S "$TMP/memif.sock"

run_bench() { # run_bench OUT SCENARIO ARGS...
	local out=$1
	shift
	timeout -k 5 60 "$BENCH" "$@" --url amqp://10.79.0.2:5672 \
		--dpdk "-l 0 --no-huge -m 512 --file-prefix $PB --no-pci" \
		--dpdk-port "net_memif0,role=client,socket=$TMP/memif.sock,socket-abstract=no" \
		--dpdk-address 10.79.0.1/24 --dpdk-idle-us 50 --cpus 0 --timeout 40 --quiet \
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
rr_check "router stats: transfers and native connections" "$PY" - "$TMP/stats.json" <<'EOP'
import json, sys
s = json.load(open(sys.argv[1]))
c = s['totals']['counters']
tcp = s['workers'][0]['net_tcp']
ok = s['driver'] == 'dpdk' and c['transfers_in'] >= 102000 and c['presettled_in'] >= 100000 \
    and tcp['passive_opens'] >= 4
if not ok:
    print('  driver %s transfers_in %d presettled_in %d passive_opens %d' % (
        s['driver'], c['transfers_in'], c['presettled_in'], tcp['passive_opens']))
sys.exit(0 if ok else 1)
EOP

rr_stop_router
rr_finish
