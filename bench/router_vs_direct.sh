#!/bin/bash
# Router in path vs direct: 100-byte messages, 1 sender -> rpcrouterd -> 1
# receiver beside 1 sender -> 1 receiver (the receiver listens, no router),
# pre-settled and unsettled, back to back in the same run; then an RPC round
# trip with 1 call in flight (dynamic reply address through the router, a
# fixed one direct). Results: docs/performance.md "Router in path vs direct".
#
#   bench/router_vs_direct.sh [-b BUILD] [-n COUNT] [-r ROUNDS] [-c RPC_CALLS]
#                             [-o OUT.jsonl] [-w WORKERS] [--no-router]
#                             [-W "CREDIT_WINDOWS"] [-L "RPC_LAYOUTS"]
#                             [-R RPCROUTERD]  (default BUILD/control/rpcrouterd)
#
# BUILD (default build-bench) must hold bench/bench_peer and
# control/rpcrouterd already built (release: meson setup build-bench
# --buildtype=release -Dtests=disabled && ninja -C build-bench); this script
# builds nothing. It starts rpcrouterd on a free port with a generated
# config, and stops it and every peer it started (by pid) on exit.
#
# Pinning (2 cores): SND_CPU (default 0) for senders, RCV_CPU (default 1)
# for receivers; WORKER_CPUS (default 0: beside the sender, which costs
# proton less CPU than the receiver) goes to the router's dataplane `cpus`
# (its workers pin themselves; "" leaves them unpinned); ROUTER_CPUS
# (default unset) tasksets the whole rpcrouterd process. RPC runs once per
# layout in -L, "CLIENT_CPU:SERVER_CPU[:SPIN]" (default "0:0 0:1 1:0:c":
# everything on the router's worker core, the server on the other core,
# the client on the other core busy-polling; SPIN c and/or s: that peer
# runs with --busy-poll). -W lists the receivers'
# credit windows (default "1000 5000"). LINK_CAPACITY sets the listener's
# linkCapacity (the credit the router grants a sender; default: the
# router's, 250 as qdrouterd). ROUTER_DATAPLANE_EXTRA adds lines
# to the generated dataplane section. What ran where is recorded.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build-bench
count=2000000
rounds=3
rpc_calls=20000
workers=1
windows="1000 5000"
layouts="0:0 0:1 1:0:c"
out=
router_bin=
use_router=1
SND_CPU=${SND_CPU:-0}
RCV_CPU=${RCV_CPU:-1}
ROUTER_CPUS=${ROUTER_CPUS:-}
WORKER_CPUS=${WORKER_CPUS-0}
ROUTER_DATAPLANE_EXTRA=${ROUTER_DATAPLANE_EXTRA:-}
LINK_CAPACITY=${LINK_CAPACITY:-}
PY=/usr/bin/python3

while [ $# -gt 0 ]; do
	case $1 in
	-b) build=$(cd "$2" && pwd); shift 2 ;;
	-n) count=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	-c) rpc_calls=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-w) workers=$2; shift 2 ;;
	-W) windows=$2; shift 2 ;;
	-L) layouts=$2; shift 2 ;;
	-R) router_bin=$2; shift 2 ;;
	--no-router) use_router=0; shift ;;
	-h | --help) sed -n '2,31p' "$0"; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done

peer=$build/bench/bench_peer
router=${router_bin:-$build/control/rpcrouterd}
ctl=$(dirname "$router")/rpcrouter-ctl
[ -x "$peer" ] || { echo "no $peer: build it first (ninja -C $build)" >&2; exit 2; }
if [ $use_router = 1 ] && [ ! -x "$router" ]; then
	echo "no $router: build it first" >&2; exit 2
fi

work=$(mktemp -d /tmp/rr-bench.XXXXXX)
[ -n "$out" ] || out=$work/results.jsonl
: >"$out"
pids=()
router_pid=

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "$router_pid" ]; then
		kill -TERM "$router_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$router_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$router_pid" 2>/dev/null
		wait "$router_pid" 2>/dev/null
	fi
	echo "raw results: $out; router log: $work/router.log" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_file() { # FILE SECONDS PID: the peer's ready file, or fail if it died
	local i=0 max=$(($2 * 20))
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		if [ $i -gt $max ] || ! kill -0 "$3" 2>/dev/null; then return 1; fi
		sleep 0.05
	done
}

# utime+stime (clock ticks) of the whole process, then "tid comm ticks cpu" per thread.
cpu_snapshot() { # PID -> prints "total" line then thread lines
	local pid=$1
	awk '{ sub(/^.*\) /, ""); print "total", $12 + $13 }' "/proc/$pid/stat" 2>/dev/null
	for t in /proc/"$pid"/task/*; do
		local comm
		comm=$(cat "$t/comm" 2>/dev/null | tr ' ' '_')
		# fields after "(comm) ": $12 utime, $13 stime, $37 processor (last cpu)
		awk -v tid="${t##*/}" -v comm="$comm" \
			'{ sub(/^.*\) /, ""); print tid, comm, $12 + $13, $37 }' "$t/stat" 2>/dev/null
	done
}

emit() { # append one JSON line built by python from key=value args and JSON files
	$PY - "$@" >>"$out" <<'EOF'
import json, sys
rec = {}
for a in sys.argv[1:]:
    k, v = a.split("=", 1)
    if k.startswith("@"):
        try:
            with open(v) as f:
                text = f.read().strip()
            try:
                rec[k[1:]] = json.loads(text) if text else None
            except ValueError:  # a peer's JSON line after other output
                rec[k[1:]] = json.loads(text.splitlines()[-1])
        except Exception as e:
            rec[k[1:]] = {"error": "no output: %s" % e}
    elif k.endswith(":s"):  # always a string (a git sha may look numeric)
        rec[k[:-2]] = v
    else:
        try:
            rec[k] = json.loads(v)
        except ValueError:
            rec[k] = v
print(json.dumps(rec, sort_keys=True))
EOF
}

cpu_delta_json() { # BEFORE AFTER -> JSON {total_s, threads:[...]}
	$PY - "$1" "$2" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
def load(p):
    tot, th = 0, {}
    for line in open(p):
        f = line.split()
        if f[0] == "total":
            tot = int(f[1])
        elif len(f) >= 4:
            th[f[0]] = (f[1], int(f[2]), f[3])
    return tot, th
hz = float(sys.argv[3])
t0, a = load(sys.argv[1])
t1, b = load(sys.argv[2])
threads = []
for tid, (comm, ticks, cpu) in sorted(b.items(), key=lambda x: int(x[0])):
    d = ticks - a.get(tid, (comm, 0, cpu))[1]
    threads.append({"tid": int(tid), "comm": comm, "cpu_s": d / hz, "last_cpu": int(cpu)})
print(json.dumps({"total_s": (t1 - t0) / hz, "threads": threads}))
EOF
}

# Busy CPU-seconds of the whole machine so far (all cpus; /proc/stat ticks).
sys_busy() {
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

# Others share this machine (parallel builds): before each run wait, up to
# QUIET_WAIT seconds (default 60), until the machine is at least 90% idle
# over half a second; the idle fraction seen is recorded with the run.
QUIET_WAIT=${QUIET_WAIT:-60}
quiet_idle=
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT))
	while :; do
		quiet_idle=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
			sleep 0.5
			awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat)
		quiet_idle=$(echo "$quiet_idle" | awk 'NR == 1 { i = $1; t = $2 }
			NR == 2 { x = $2 > t ? ($1 - i) / ($2 - t) : 0; if (x < 0) x = 0; if (x > 1) x = 1; printf "%.2f", x }')
		if awk -v x="$quiet_idle" 'BEGIN { exit !(x >= 0.9) }' || [ $SECONDS -ge $end ]; then
			break
		fi
	done
}

# ---- machine and build ----
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1)
sha=$(git -C "$src" rev-parse --short HEAD 2>/dev/null)
dirty=$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
	$PY -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' 2>/dev/null)
emit kind=machine "model=$model" "hypervisor=${hyper:-none}" "cpus=$(nproc)" \
	"kernel:s=$(uname -r)" "sha:s=$sha" "dirty_files=$dirty" "buildtype=${buildtype:-unknown}" \
	"loadavg=$(cut -d' ' -f1-3 /proc/loadavg)" "date=$(date -u +%FT%TZ)" \
	"count=$count" "rounds=$rounds" "rpc_calls=$rpc_calls" "snd_cpu=$SND_CPU" \
	"rcv_cpu=$RCV_CPU" "router_cpus=${ROUTER_CPUS:-not set}" "worker_cpus=${WORKER_CPUS:-unpinned}" "link_capacity=${LINK_CAPACITY:-default}" \
	"workers=$workers" "windows:s=$windows" "rpc_layouts:s=$layouts"

# ---- the router ----
rport=
if [ $use_router = 1 ]; then
	rport=$(free_port)
	cat >"$work/rpcrouterd.conf" <<EOF
# generated by bench/router_vs_direct.sh
router {
    mode: standalone
    id: bench
}
listener {
    host: 127.0.0.1
    port: $rport
    authenticatePeer: no
    saslMechanisms: ANONYMOUS
${LINK_CAPACITY:+    linkCapacity: $LINK_CAPACITY}
}
address {
    prefix: openstack.org/om/rpc/unicast
    distribution: closest
}
address {
    prefix: openstack.org/om/rpc/anycast
    distribution: balanced
}
address {
    prefix: bench
    distribution: closest
}
dataplane {
    driver: socket
    workers: $workers
    controlSocket: $work/ctl.sock
${WORKER_CPUS:+    cpus: $WORKER_CPUS}
$ROUTER_DATAPLANE_EXTRA
}
EOF
	if [ -n "$ROUTER_CPUS" ]; then
		taskset -c "$ROUTER_CPUS" "$router" -c "$work/rpcrouterd.conf" >"$work/router.log" 2>&1 &
	else
		"$router" -c "$work/rpcrouterd.conf" >"$work/router.log" 2>&1 &
	fi
	router_pid=$!
	# Listening (ss, so no probe connection is made), or dead.
	for _ in $(seq 100); do
		kill -0 "$router_pid" 2>/dev/null || break
		ss -Hltn "sport = :$rport" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	if ! kill -0 "$router_pid" 2>/dev/null || ! ss -Hltn "sport = :$rport" | grep -q .; then
		echo "rpcrouterd did not start listening on 127.0.0.1:$rport; its output:" >&2
		cat "$work/router.log" >&2
		exit 1
	fi
	aff=$(for t in /proc/"$router_pid"/task/*; do
		echo "$(cat "$t/comm" | tr ' ' '_'):$(sed -n 's/^Cpus_allowed_list:\s*//p' "$t/status")"
	done | tr '\n' ' ')
	emit kind=router "pid=$router_pid" "port=$rport" "threads_affinity=$aff" \
		"config=$work/rpcrouterd.conf"
fi

# ---- runs ----
# run_flow ROUND SETTLE(presettled|unsettled) PATH(direct|router) WINDOW
run_flow() {
	local r=$1 settle=$2 path=$3 win=$4 flag= url rpid spid
	[ "$settle" = unsettled ] && flag=--unsettled
	local tag=$path-$settle-w$win-$r
	wait_quiet
	rm -f "$work/ready"
	local addr=bench/flow/$tag
	if [ "$path" = direct ]; then
		taskset -c "$RCV_CPU" "$peer" recv --listen --url amqp://127.0.0.1:0 --address "$addr" \
			--count "$count" --credit-window "$win" --ready-file "$work/ready" --timeout 120 --label "$tag" \
			>"$work/recv.json" 2>"$work/recv.err" &
		rpid=$!
	else
		taskset -c "$RCV_CPU" "$peer" recv --url "amqp://127.0.0.1:$rport" --address "$addr" \
			--count "$count" --credit-window "$win" --ready-file "$work/ready" --timeout 120 --label "$tag" \
			>"$work/recv.json" 2>"$work/recv.err" &
		rpid=$!
	fi
	pids+=("$rpid")
	if ! wait_file "$work/ready" 20 "$rpid"; then
		echo "$tag: receiver not ready" >&2
		wait "$rpid"
		emit kind=flow "round=$r" "settle=$settle" "path=$path" "window=$win" "@recv=$work/recv.json" error=receiver-not-ready
		return
	fi
	if [ "$path" = direct ]; then url=amqp://127.0.0.1:$(cat "$work/ready"); else url=amqp://127.0.0.1:$rport; fi
	[ "$path" = router ] && cpu_snapshot "$router_pid" >"$work/cpu0"
	local busy0
	busy0=$(sys_busy)
	taskset -c "$SND_CPU" "$peer" send --url "$url" --address "$addr" --count "$count" --size 100 \
		$flag --timeout 120 --label "$tag" >"$work/send.json" 2>"$work/send.err" &
	spid=$!
	pids+=("$spid")
	wait "$spid"
	wait "$rpid"
	local busy
	busy=$(awk -v a="$busy0" -v b="$(sys_busy)" 'BEGIN { printf "%.3f", b - a }')
	local cpu='null'
	echo null >"$work/stats.json"
	if [ "$path" = router ]; then
		cpu_snapshot "$router_pid" >"$work/cpu1"
		cpu=$(cpu_delta_json "$work/cpu0" "$work/cpu1")
		# The router's counters (drops by reason) after the run, read after
		# the CPU snapshot so the query is not billed to the run.
		if [ -x "$ctl" ]; then
			timeout 10 "$ctl" --socket "$work/ctl.sock" stats --json >"$work/stats.json" 2>/dev/null ||
				echo null >"$work/stats.json"
		fi
	fi
	pids=()
	emit kind=flow "round=$r" "settle=$settle" "path=$path" "window=$win" "@send=$work/send.json" \
		"idle_before=$quiet_idle" "machine_busy_s=$busy" \
		"@recv=$work/recv.json" "@router_stats=$work/stats.json" "router_cpu=$cpu" "loadavg:s=$(cut -d" " -f1 /proc/loadavg)"
}

# run_rpc ROUND PATH CLIENT_CPU:SERVER_CPU
run_rpc() {
	local r=$1 path=$2 layout=$3 spid cpid url reply=() cspin=() sspin=()
	local ccpu scpu spin
	IFS=: read -r ccpu scpu spin <<<"$layout"
	case ${spin:-} in *c*) cspin=(--busy-poll) ;; esac
	case ${spin:-} in *s*) sspin=(--busy-poll) ;; esac
	local addr=openstack.org/om/rpc/unicast/bench/echo/server1
	wait_quiet
	rm -f "$work/ready"
	if [ "$path" = direct ]; then
		taskset -c "$scpu" "$peer" rpc-server "${sspin[@]}" --listen --url amqp://127.0.0.1:0 --address "$addr" \
			--ready-file "$work/ready" --timeout 120 --label "rpc-$path-$r" \
			>"$work/server.json" 2>"$work/server.err" &
		reply=(--reply-to bench/reply/direct)
	else
		taskset -c "$scpu" "$peer" rpc-server "${sspin[@]}" --url "amqp://127.0.0.1:$rport" --address "$addr" \
			--ready-file "$work/ready" --timeout 120 --label "rpc-$path-$r" \
			>"$work/server.json" 2>"$work/server.err" &
	fi
	spid=$!
	pids+=("$spid")
	if ! wait_file "$work/ready" 20 "$spid"; then
		echo "rpc $path: server not ready" >&2
		kill "$spid" 2>/dev/null; wait "$spid"
		emit kind=rpc "round=$r" "path=$path" "layout=$layout" error=server-not-ready
		pids=(); return
	fi
	if [ "$path" = direct ]; then url=amqp://127.0.0.1:$(cat "$work/ready"); else url=amqp://127.0.0.1:$rport; fi
	[ "$path" = router ] && cpu_snapshot "$router_pid" >"$work/cpu0"
	local busy0 busy
	busy0=$(sys_busy)
	taskset -c "$ccpu" "$peer" rpc-client "${cspin[@]}" --url "$url" --address "$addr" --count "$rpc_calls" \
		--inflight 1 --unsettled "${reply[@]}" --timeout 120 --label "rpc-$path-$r" \
		>"$work/client.json" 2>"$work/client.err" &
	cpid=$!
	pids+=("$cpid")
	wait "$cpid"
	busy=$(awk -v a="$busy0" -v b="$(sys_busy)" 'BEGIN { printf "%.3f", b - a }')
	local cpu='null'
	if [ "$path" = router ]; then
		cpu_snapshot "$router_pid" >"$work/cpu1"
		cpu=$(cpu_delta_json "$work/cpu0" "$work/cpu1")
		kill -TERM "$spid" 2>/dev/null # through the router it serves until told
	fi
	wait "$spid"
	pids=()
	emit kind=rpc "round=$r" "path=$path" "layout=\"$layout\"" "idle_before=$quiet_idle" "machine_busy_s=$busy" "@client=$work/client.json" \
		"@server=$work/server.json" "router_cpu=$cpu" "loadavg:s=$(cut -d" " -f1 /proc/loadavg)"
}

paths=(direct)
[ $use_router = 1 ] && paths+=(router)
for r in $(seq "$rounds"); do
	for win in $windows; do
		for settle in presettled unsettled; do
			for path in "${paths[@]}"; do
				echo "round $r: $settle window $win $path" >&2
				run_flow "$r" "$settle" "$path" "$win"
			done
		done
	done
	for layout in $layouts; do
		for path in "${paths[@]}"; do
			echo "round $r: rpc $path client:server cpus $layout" >&2
			run_rpc "$r" "$path" "$layout"
		done
	done
done

if [ -n "$router_pid" ]; then
	kill -TERM "$router_pid"
	rc=0
	wait "$router_pid" || rc=$?
	emit kind=router_exit "status=$rc"
	router_pid=
fi

# ---- summary ----
$PY - "$out" <<'EOF'
import json, os, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = next(r for r in recs if r["kind"] == "machine")
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def fmt(x, f="{:,.0f}"):
    return "n/a" if x is None else f.format(x)
print("machine: %s, %s CPUs, hypervisor %s, kernel %s; commit %s%s; %s build; load %s; %s"
      % (m["model"], m["cpus"], m["hypervisor"], m["kernel"], m["sha"],
         " (+%s modified files)" % m["dirty_files"] if m["dirty_files"] else "",
         m["buildtype"], m["loadavg"], m["date"]))
print("pinning: senders on cpu %s, receivers on cpu %s, router workers (dataplane cpus) %s, "
      "rpcrouterd process taskset %s; listener linkCapacity %s; %s messages x %s rounds, "
      "%s RPC calls per round and layout\n"
      % (m["snd_cpu"], m["rcv_cpu"], m["worker_cpus"], m["router_cpus"], m.get("link_capacity"),
         m["count"], m["rounds"], m["rpc_calls"]))
rt = next((r for r in recs if r["kind"] == "router"), None)
if rt:
    print("router threads and their allowed cpus: %s\n" % rt["threads_affinity"])
flows = [r for r in recs if r["kind"] == "flow"]
# A run is clean when other people's processes used at most CLEAN CPU-s
# during it (the machine's busy time minus the router's and the peers').
CLEAN = float(os.environ.get("CLEAN_OTHERS", "0.1"))
def others_s(r):
    if r.get("machine_busy_s") is None:
        return None
    mine = sum(((r.get(k) or {}).get("cpu_s") or 0) for k in ("send", "recv", "client", "server"))
    mine += (r.get("router_cpu") or {}).get("total_s") or 0
    return max(0.0, r["machine_busy_s"] - mine)
def clean(r):
    o = others_s(r)
    return o is not None and o <= CLEAN
print("| 100-byte messages | credit window | direct msg/s | router msg/s | router/direct | msgs per router CPU-s | router CPU-s per run | lost (sent - received), every run | clean rounds |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for win, settle in [(w, s) for w in m["windows"].split() for s in ("presettled", "unsettled")]:
    runs = {}
    for r in flows:
        if r["settle"] == settle and str(r["window"]) == win:
            runs.setdefault(r["round"], {})[r["path"]] = r
    def rate(r):
        rv = (r or {}).get("recv") or {}
        return rv.get("rate") if rv.get("received") == m["count"] else None
    pairs = [(p.get("direct"), p.get("router")) for _, p in sorted(runs.items())]
    ok = [(a, b) for a, b in pairs if a and b and clean(a) and clean(b)]
    star = ""
    if not ok:  # nothing clean: say so, and show every run
        ok = [(a, b) for a, b in pairs if a and b]
        star = " (none clean: all runs)"
    dm = med([rate(a) for a, _ in ok]); rm = med([rate(b) for _, b in ok])
    ratios = [rate(b) / rate(a) for a, b in ok if rate(a) and rate(b)]
    per_cpu, cpu_s = [], []
    for _, r in ok:
        rv = r.get("recv") or {}
        c = (r.get("router_cpu") or {}).get("total_s")
        if c:
            cpu_s.append(c)
            if rv.get("received"):
                per_cpu.append(rv["received"] / c)
    lost = []
    for r in flows:
        if r["settle"] == settle and str(r["window"]) == win and r["path"] == "router":
            sd = r.get("send") or {}; rv = r.get("recv") or {}
            if "sent" in sd and "received" in rv:
                lost.append(sd["sent"] - rv["received"])
    lost_s = ", ".join(str(x) for x in lost) if lost else "n/a"
    print("| %s | %s | %s | %s | %s (median of per-round ratios %s) | %s | %s | %s | %d of %d%s |"
          % (settle, win, fmt(dm), fmt(rm), fmt(rm / dm if dm and rm else None, "{:.0%}"),
             fmt(med(ratios), "{:.0%}"), fmt(med(per_cpu)), fmt(med(cpu_s), "{:.2f}"),
             lost_s, 0 if star else len(ok), len(pairs), star))
print("\nclean: other people's processes used <= %.2f CPU-s during both runs of the pair "
      "(machine busy time minus the router's and the peers' own); others' CPU-s per flow run: %s"
      % (CLEAN, " ".join("%.2f" % (others_s(r) or 0) for r in flows)))
rpcs = [r for r in recs if r["kind"] == "rpc"]
print("\n| RPC, 1 call in flight | client:server cpus[:busy-polling peer] | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | calls/s | replies per round |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for layout, path in [(l, p) for l in m["rpc_layouts"].split() for p in ("direct", "router")]:
    rs = [r for r in rpcs if r["path"] == path and r.get("client") and str(r.get("layout")) == layout]
    n_all = len(rs)
    rs = [r for r in rs if clean(r)] or rs
    n_clean = len([r for r in rs if clean(r)])
    if not rs:
        continue
    def q(k):
        return med([(r["client"].get("lat_us") or {}).get(k) for r in rs])
    ok = "/".join("%s" % r["client"].get("replies") for r in rs) + " (%d of %d clean)" % (n_clean, n_all)
    label = "direct (fixed reply address)" if path == "direct" else "through rpcrouterd (dynamic reply address)"
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
          % (label, layout, fmt(q("p50"), "{:.1f}"), fmt(q("p90"), "{:.1f}"), fmt(q("p99"), "{:.1f}"),
             fmt(q("p99_9"), "{:.1f}"), fmt(q("max"), "{:.1f}"),
             fmt(med([r["client"].get("rate") for r in rs])), ok))
print("\n(medians over the rounds; RPC percentiles are the median across rounds of each round's percentile)")
print("qdrouterd 1.19: not measured here (not installed)")
thr = [r for r in flows if r["path"] == "router" and r.get("router_cpu")]
if thr:
    print("\nrouter threads, CPU-s per run (median over flow runs):")
    names = {}
    for r in thr:
        for t in r["router_cpu"]["threads"]:
            names.setdefault((t["tid"], t["comm"]), []).append(t["cpu_s"])
    for (tid, comm), v in sorted(names.items()):
        print("  %s (tid %s): %.3f" % (comm, tid, statistics.median(v)))
last = [r for r in recs if r["kind"] in ("flow", "rpc") and isinstance(r.get("router_stats"), dict)]
if last:
    drops = ((last[-1]["router_stats"].get("totals") or {}).get("drops") or {})
    nz = {k: v for k, v in drops.items() if v}
    print("\nrouter drop counters (rpcrouter-ctl stats, cumulative, after the last routed run): %s"
          % (nz if nz else "all %d reasons zero" % len(drops)))
errs = [r for r in recs if r.get("error") or any(isinstance(r.get(k), dict) and (r[k].get("error") or r[k].get("timed_out")) for k in ("send", "recv", "client", "server"))]
for r in errs:
    print("PROBLEM:", json.dumps(r)[:400])
EOF
