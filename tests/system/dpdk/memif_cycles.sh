#!/bin/bash
# rpcrouterd on a net_memif server port outlives its memif peers
# (docs/dpdk-notes.md 6): CYCLES times, rpcrouter-bench in DPDK mode (the
# memif client, its own EAL process on CPU 0) connects, carries pre-settled
# load, and goes away, alternately
#   - by itself at the end of a short run (AMQP Close, then rte_eth_dev_close:
#     a memif disconnect message), which must exit 0 having received
#     messages, i.e. the router served this client, and
#   - killed with SIGKILL in the middle of its load (the kernel closes the
#     control socket: EOF), the router's worker busy with bursts then.
# Each cycle uses an address of its own: the killed client's connections
# stay in the router until its TCP gives up on them (or the next client,
# same IP, answers their retransmissions with RST), and a stale receiver
# link on a shared address would take part of the next client's
# pre-settled messages (counted lost by the bench).
# After each cycle rpcrouterd must still be running and answer
# rpcrouter-ctl; at the end SIGTERM must stop it with exit 0 and its log
# must hold no crash. Either way of going makes the PMD's interrupt thread
# run memif_disconnect, which unmaps the shared regions while the worker
# may be inside rte_eth_rx_burst/tx_burst on them; the driver's unmap guard
# (drivers/dpdk/drv_dpdk_unmap.c) makes that unmap wait for the worker.
# The race is narrow (the worker must be inside a burst, past the PMD's
# flag test, for the ~10 us memif_disconnect takes to reach its munmap):
# seen in the wild on a loaded machine, where other processes preempt the
# worker at random points of its loop. To hit it in a test run, HOGS busy
# loops at nice NICE (-20: the worker keeps ~1% of its CPU) run on the
# worker's CPU for about a second around each departure only, so the
# worker is off its CPU, stopped wherever its slice ended, when the peer
# goes; without the guard about one departure in ten then killed the
# router (docs/dpdk-notes.md 6). The worker runs without idle back-off
# (BACKOFF_US 0 by default): with it, it sleeps through most departures.
# Bounded: every process under timeout, every wait counted.
# Skipped (exit 77) unless root and the memif PMD are there; removes what
# it creates, ends only its own processes, by pid.
#
# Usage: memif_cycles.sh RPCROUTERD RPCROUTER_CTL RPCROUTER_BENCH [CYCLES [HOGS [BACKOFF_US [NICE]]]]
set -u
RPCROUTERD=${1:?rpcrouterd}
RPCROUTER_CTL=${2:?rpcrouter-ctl}
BENCH=${3:?rpcrouter-bench}
CYCLES=${4:-20}
HOGS=${5:-1}
BACKOFF=${6:-0}
NICE=${7:--20}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

rr_need_root "DPDK EAL"
rr_need_pmd memif

rr_tmp rrdpdkmemif
PREFIX=rrdmc$$
rr_prefix "$PREFIX"
SPEC=net_memif0,role=server,socket=$TMP/memif.sock,socket-abstract=no
rr_conf rrdpdkmemif 1 "$PREFIX" "$SPEC" 10.79.0.2/24 "$BACKOFF"
rr_start_router $((CYCLES * 20 + 60)) "$TMP/rr.conf"
rr_wait_up test -S "$TMP/memif.sock"
RPID=$(rr_router_pid)
WCPU=$(rr_worker_cpu)

HOG_PIDS=()
hogs_start() {
	local i
	HOG_PIDS=()
	for ((i = 0; i < HOGS; i++)); do
		rr_bg timeout -k 5 20 nice -n "$NICE" taskset -c "$WCPU" bash -c 'while :; do :; done'
		HOG_PIDS+=("$RR_LAST_PID")
	done
}
hogs_stop() {
	local p
	for p in "${HOG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	HOG_PIDS=()
}

transfers() {
	"$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json 2>/dev/null |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["totals"]["counters"]["transfers_in"])' 2>/dev/null
}

alive() { kill -0 "$RPID" 2>/dev/null && "$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json >/dev/null 2>&1; }

served=0
killed=0
for ((c = 1; c <= CYCLES; c++)); do
	BPREFIX=rrdmcb$$c$c
	rr_prefix "$BPREFIX"
	kill_it=$((c % 2 == 0))
	dur=2
	[ $kill_it = 1 ] && dur=20
	rr_bg timeout -k 5 $((dur + 60)) "$BENCH" throughput --duration $dur --presettled \
		--body-size 100 --senders 1 --receivers 1 --address "bench/memif$c" \
		--url amqp://10.79.0.2:5672 \
		--dpdk "-l 0 --no-huge -m 512 --file-prefix $BPREFIX --no-pci" \
		--dpdk-port "net_memif0,role=client,socket=$TMP/memif.sock,socket-abstract=no" \
		--dpdk-address 10.79.0.1/24 --cpus 0 --timeout $((dur + 30)) \
		--quiet --out "$TMP/bench$c.json" 2>"$TMP/bench$c.err"
	BPID=$RR_LAST_PID
	# load moving
	t0=$(transfers)
	for _ in $(seq 150); do
		t=$(transfers)
		[ "${t:-0}" -gt $((${t0:-0} + 2000)) ] && break
		kill -0 "$BPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ $kill_it = 1 ]; then
		# mid-load, the worker off its CPU: a random 0.1-0.5 s more
		hogs_start
		sleep "0.$((1 + RANDOM % 5))"
		# timeout's child, the bench itself: SIGKILL, no goodbye
		bp=$(pgrep -P "$BPID" -x rpcrouter-bench)
		[ -n "$bp" ] && kill -KILL "$bp"
		wait "$BPID"
		killed=$((killed + 1))
	else
		# the hogs from the end of the load until the bench has gone:
		# once the router's transfers stop (the bench drained what was
		# in flight), in its AMQP close and linger (200 ms) before the
		# memif disconnect. Not earlier: a worker held at ~1% of its
		# CPU while the bench drains falls behind the memif rings, both
		# TCPs back off (RTO) past the bench's 2 s of drain without
		# progress, and the bench counts the last credit window lost
		# (seen on a slower host: 125-250 of every served run)
		prev=-1
		for _ in $(seq 200); do
			t=$(transfers)
			[ "${t:-0}" = "$prev" ] && break
			kill -0 "$BPID" 2>/dev/null || break
			prev=${t:-0}
			sleep 0.05
		done
		hogs_start
		wait "$BPID"
		brc=$?
		got=$("$PY" -c 'import json, sys
l = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(l["results"]["received"])' "$TMP/bench$c.json" 2>/dev/null)
		if [ $brc = 0 ] && [ "${got:-0}" -gt 0 ]; then
			served=$((served + 1))
		else
			echo "FAIL: cycle $c: rpcrouter-bench exit $brc, ${got:-no} messages received"
			tail -5 "$TMP/bench$c.err"
			fail=1
		fi
	fi
	rm -rf "/var/run/dpdk/$BPREFIX"
	# the router saw the peer go (its interrupt thread ran memif_disconnect)
	sleep 0.3
	hogs_stop
	if ! alive; then
		echo "FAIL: cycle $c ($([ $kill_it = 1 ] && echo killed || echo exited) peer): rpcrouterd gone"
		fail=1
		break
	fi
done
echo "  $((c > CYCLES ? CYCLES : c)) cycles: $served clients served and exited, $killed killed mid-load"
rr_check "rpcrouterd alive after every memif peer left" [ $fail = 0 ]
rr_check "every other client served (got $served of $(((CYCLES + 1) / 2)))" [ $served = $(((CYCLES + 1) / 2)) ]
# the guard's counters: every peer that left made the interrupt thread
# unmap (without zero-copy one region, rings and buffers) after waiting
# for the worker
guard=$("$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json 2>/dev/null | "$PY" -c '
import json, sys
c = json.load(sys.stdin)["workers"][0]["driver"]
print(c.get("memif_unmap_waits", -1), c.get("memif_unmap_timeouts", -1))' 2>/dev/null)
read -r waits timeouts <<<"${guard:--1 -1}"
echo "  unmap guard: $waits waits, $timeouts timeouts"
rr_check "the unmap guard waited at each of the $((served + killed)) disconnects (waits $waits)" \
	[ "${waits:--1}" -ge $((served + killed)) ]
rr_check "the unmap guard never gave up waiting (timeouts $timeouts)" [ "${timeouts:--1}" = 0 ]
rr_stop_router
rr_check "no crash in the router's log" bash -c "! grep -Eiq 'segfault|SIGSEGV|signal 11|sanitizer|runtime error' '$TMP/rr.log'"
rr_finish
