#!/bin/bash
# Side by side: the same rpcrouter-bench scenarios against rpcrouterd (this
# build), qdrouterd and RabbitMQ's AMQP 1.0 plugin (each only when installed
# on this machine) and the --direct ceiling (no router), in one run; then
# `rpcrouter-bench report` into docs/performance.md's "Side by side" section
# and docs/img/. Documented in docs/bench.md ("bench/compare.sh").
#
#   bench/compare.sh [--quick] [--targets LIST] [--out DIR] [-b BUILD]
#                    [--duration S] [--docs | --no-docs] [--docs-dir D]
#                    [--max-time S]
#
#   --quick        1 s runs, fewer connections: a smoke test (implies --no-docs)
#   --targets L    comma/space list of rpcrouterd,qdrouterd,rabbitmq,direct
#                  (default: all; a router not installed is skipped and said so)
#   --out DIR      results.jsonl, na.jsonl, report.md, logs (default: a new
#                  /tmp/rr-compare.XXXXXX, kept)
#   -b BUILD       build tree holding bench/rpcrouter-bench and
#                  control/rpcrouterd (default: build-bench; release builds
#                  give the honest numbers: meson setup build-bench
#                  --buildtype=release -Dtests=disabled && ninja -C build-bench)
#   --duration S   seconds per run (default 10; --quick 1)
#   --docs/--no-docs  write docs/performance.md + docs/img/ (default: yes,
#                  but not with --quick)
#   --docs-dir D   that docs folder instead of the tree's docs/ (implies --docs)
#   --max-time S   stop starting runs after S seconds (default 1800; quick 240)
#
# What runs is the capability matrix below (MATRIX): one line per row, a
# cell per target: "y" runs it, "na:KEY" writes an n/a mark with the reason
# REASON[KEY] (the report prints "n/a", never a number). Every process this
# script starts it stops by pid (trap EXIT); every run is bounded by its own
# --timeout and by `timeout` around it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
PY=/usr/bin/python3
RABBITMQ_SERVER=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}
RABBITMQCTL=${RABBITMQCTL:-/usr/lib/rabbitmq/bin/rabbitmqctl}
RABBITMQ_PLUGINS=${RABBITMQ_PLUGINS:-/usr/lib/rabbitmq/bin/rabbitmq-plugins}
EPMD=${EPMD:-$(command -v epmd || echo /usr/bin/epmd)}
QDROUTERD=${QDROUTERD:-$(command -v qdrouterd || echo /usr/sbin/qdrouterd)}
ROUTER_WORKERS=${ROUTER_WORKERS:-1}

build=$src/build-bench
quick=0
docs=
docs_dir=
targets="rpcrouterd qdrouterd rabbitmq direct"
out=
duration=
max_time=
cmdline="bench/compare.sh $*"

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--targets) targets=$(echo "$2" | tr ',' ' '); shift 2 ;;
	--out) out=$2; shift 2 ;;
	-b) build=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--docs) docs=1; shift ;;
	--no-docs) docs=0; shift ;;
	--docs-dir) docs_dir=$(cd "$2" && pwd) || exit 2; docs=${docs:-1}; shift 2 ;;
	--max-time) max_time=$2; shift 2 ;;
	-h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ $quick = 1 ]; then
	duration=${duration:-1}
	max_time=${max_time:-240}
	docs=${docs:-0}
	nconn=50
	rate=500
else
	duration=${duration:-10}
	max_time=${max_time:-1800}
	docs=${docs:-1}
	nconn=1000
	rate=2000
fi

docs_dir=${docs_dir:-$src/docs}
bench=$build/bench/rpcrouter-bench
router=$build/control/rpcrouterd
[ -x "$bench" ] || { echo "compare.sh: no $bench: build it first (ninja -C $build)" >&2; exit 2; }

# ---- the capability matrix ----
# id | scenario and its options (every option that tells the rows apart is
# given explicitly, so an n/a mark names exactly its row) | rpcrouterd |
# qdrouterd | rabbitmq | direct. @D@ = duration, @C@ = connections, @R@ = rate.
MATRIX='
tp-100       | throughput --body-size 100 --senders 1 --presettled           | y | y | y | y
tp-1000      | throughput --body-size 1000 --senders 1 --presettled          | y | y | y | y
tp-10000     | throughput --body-size 10000 --senders 1 --presettled         | y | y | y | y
tp-100-s4    | throughput --body-size 100 --senders 4 --presettled           | y | y | y | y
tp-100-unset | throughput --body-size 100 --senders 1 --unsettled            | y | y | y | y
rpc-1        | rpc --body-size 100 --inflight 1 --unsettled                  | y | y | y | y
rpc-10       | rpc --body-size 100 --inflight 10 --unsettled                 | y | y | y | y
rpc-open     | rpc --body-size 100 --rate @R@ --unsettled                    | y | y | y | y
fanout-4     | fanout --body-size 100 --receivers 4 --presettled             | y | y | y | na:nomulticast
conn         | connections --connections @C@ --links-per-conn 2              | y | y | y | y
handshake    | handshake --connections 2                                     | y | y | y | y
'
declare -A REASON=(
	[nomulticast]="--direct has no router, so no multicast: fanout needs one"
)
# Per-target addressing (not part of a row's identity: the report ignores
# address, reply_to, anonymous_relay). RabbitMQ 3.10's plugin answers only
# /queue/NAME, /exchange/NAME[/KEY], /topic/NAME (bench/compare/
# rabbit_probe.py; docs/bench.md): no dynamic source, so rpc uses a named
# reply queue; no anonymous relay, so the server attaches a sender per
# reply address; fanout goes through amq.fanout, each receiver getting its
# own queue. Fresh queue names per run: queued leftovers of one run must
# not arrive in the next.
target_args() { # TARGET SCENARIO RUNID
	case $1 in
	rabbitmq)
		case $2 in
		throughput) echo "--address /queue/bench-tp-$3" ;;
		rpc) echo "--address /queue/bench-rpc-$3 --reply-to /queue/bench-reply-$3 --no-anonymous-relay" ;;
		fanout) echo "--address /exchange/amq.fanout/bench-$3" ;;
		connections) echo "--address /queue/bench-conn-$3" ;;
		esac ;;
	*)
		case $2 in
		throughput) echo "--address bench/throughput" ;;
		rpc) echo "--address bench/rpc" ;;
		fanout) echo "--address multicast/bench" ;;
		connections) echo "--address bench/connections" ;;
		esac ;;
	esac
}

# ---- bookkeeping, cleanup ----
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/rr-compare.XXXXXX)
else
	mkdir -p "$out" || exit 2
	out=$(cd "$out" && pwd)
fi
results=$out/results.jsonl
nafile=$out/na.jsonl
: >"$results"
: >"$nafile"
log() { echo "compare.sh: $*" >&2; }

declare -A TPORT=() TROUTERPID=() TNOTE=()
router_pids=()   # routers we started (kill -TERM by pid)
rmq_pgid=        # rabbitmq-server's own process group (our child's pid)
rmq_node=
epmd_pid=
rmq_dir=

# The node's environment (set by start_rabbitmq): every command for the
# node runs as `env "${rmq_envv[@]}" CMD`, never through a shell function,
# so a backgrounded `env ... CMD &` has CMD's own pid in $!.
rmq_envv=()
rmq_env() { env "${rmq_envv[@]}" "$@"; }

stop_pid() { # PID [SECONDS]: TERM, wait, KILL
	local p=$1 _
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq $((${2:-5} * 10))); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

stop_rabbitmq() {
	[ -n "$rmq_pgid" ] || return 0
	if kill -0 "$rmq_pgid" 2>/dev/null; then
		rmq_env timeout 40 "$RABBITMQCTL" -n "$rmq_node" stop >/dev/null 2>&1 </dev/null
	fi
	local _
	for _ in $(seq 100); do
		kill -0 "$rmq_pgid" 2>/dev/null || break
		sleep 0.1
	done
	# Whatever is left of the group rabbitmq-server started (beam.smp,
	# erl_child_setup, inet_gethost): its id is our child's pid.
	kill -TERM -- -"$rmq_pgid" 2>/dev/null && sleep 1
	kill -KILL -- -"$rmq_pgid" 2>/dev/null
	wait "$rmq_pgid" 2>/dev/null
	rmq_pgid=
}

stop_epmd() { # epmd ignores SIGTERM: ask it (-kill), then SIGKILL
	[ -n "$epmd_pid" ] || return 0
	timeout 5 "$EPMD" -port "$rmq_epmd" -kill >/dev/null 2>&1
	stop_pid "$epmd_pid" 1
	epmd_pid=
}

cleanup() {
	local p
	stop_rabbitmq
	stop_epmd
	for p in "${router_pids[@]}"; do stop_pid "$p"; done
	router_pids=()
	log "results: $results; report: $out/report.md; logs: $out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_listen() { # PORT PID SECONDS: listening (ss: no probe connection), or dead
	local _
	for _ in $(seq $(($3 * 10))); do
		kill -0 "$2" 2>/dev/null || return 1
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

fill() { # IN OUT: @PORT@ @WORK@ @WORKERS@
	sed -e "s|@PORT@|$3|g" -e "s|@WORK@|$out|g" -e "s|@WORKERS@|$ROUTER_WORKERS|g" "$1" >>"$2"
}

# ---- targets ----
start_rpcrouterd() {
	[ -x "$router" ] || { TNOTE[rpcrouterd]="not built ($router)"; return 1; }
	local port conf=$out/rpcrouterd.conf
	port=$(free_port)
	: >"$conf"
	fill "$here/compare/router.conf.in" "$conf" "$port"
	fill "$here/compare/rpcrouterd.dataplane.in" "$conf" "$port"
	"$router" -c "$conf" >"$out/rpcrouterd.log" 2>&1 &
	local pid=$!
	router_pids+=("$pid")
	if ! wait_listen "$port" "$pid" 10; then
		log "rpcrouterd did not listen on 127.0.0.1:$port:"; cat "$out/rpcrouterd.log" >&2
		TNOTE[rpcrouterd]="did not start (see rpcrouterd.log)"
		return 1
	fi
	TPORT[rpcrouterd]=$port
	TROUTERPID[rpcrouterd]=$pid
	TNOTE[rpcrouterd]="this build's rpcrouterd ($("$router" --version 2>/dev/null | head -1 || echo "version unknown")), dataplane workers $ROUTER_WORKERS, config bench/compare/router.conf.in + rpcrouterd.dataplane.in"
}

start_qdrouterd() {
	[ -x "$QDROUTERD" ] || { TNOTE[qdrouterd]="not installed on this machine"; return 1; }
	local port conf=$out/qdrouterd.conf
	port=$(free_port)
	: >"$conf"
	fill "$here/compare/router.conf.in" "$conf" "$port"
	"$QDROUTERD" -c "$conf" >"$out/qdrouterd.log" 2>&1 &
	local pid=$!
	router_pids+=("$pid")
	if ! wait_listen "$port" "$pid" 15; then
		log "qdrouterd did not listen on 127.0.0.1:$port:"; cat "$out/qdrouterd.log" >&2
		TNOTE[qdrouterd]="did not start (see qdrouterd.log)"
		return 1
	fi
	TPORT[qdrouterd]=$port
	TROUTERPID[qdrouterd]=$pid
	TNOTE[qdrouterd]="$("$QDROUTERD" --version 2>/dev/null | head -1), config bench/compare/router.conf.in"
}

# A private node as tests/system/rabbitmq.py starts one: as root without
# systemd, every path in one folder, its own epmd (ours, in the
# foreground), ports on 127.0.0.1, the amqp1_0 plugin enabled offline into
# its own enabled-plugins file.
start_rabbitmq() {
	local f
	for f in "$RABBITMQ_SERVER" "$RABBITMQCTL" "$RABBITMQ_PLUGINS" "$EPMD"; do
		[ -x "$f" ] || { TNOTE[rabbitmq]="not installed on this machine ($f)"; return 1; }
	done
	rmq_dir=$out/rabbitmq
	mkdir -p "$rmq_dir/home" "$rmq_dir/log"
	chmod 700 "$rmq_dir/home"
	(umask 077; $PY -c 'import secrets; print(secrets.token_hex(16).upper(), end="")' \
		>"$rmq_dir/home/.erlang.cookie")
	TPORT[rabbitmq]=$(free_port)
	rmq_dist=$(free_port)
	rmq_epmd=$(free_port)
	rmq_node=rrbench${TPORT[rabbitmq]}@localhost
	rmq_envv=(HOME="$rmq_dir/home" RABBITMQ_NODENAME="$rmq_node" RABBITMQ_USE_LONGNAME=false
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="${TPORT[rabbitmq]}"
		RABBITMQ_DIST_PORT="$rmq_dist" ERL_EPMD_PORT="$rmq_epmd" ERL_EPMD_ADDRESS=127.0.0.1
		RABBITMQ_MNESIA_BASE="$rmq_dir/mnesia" RABBITMQ_LOG_BASE="$rmq_dir/log"
		RABBITMQ_CONFIG_FILE="$rmq_dir/rabbitmq.conf"
		RABBITMQ_ADVANCED_CONFIG_FILE="$rmq_dir/advanced.config"
		RABBITMQ_ENABLED_PLUGINS_FILE="$rmq_dir/enabled_plugins"
		RABBITMQ_CONF_ENV_FILE="$rmq_dir/rabbitmq-env.conf"
		RABBITMQ_PID_FILE="$rmq_dir/rabbitmq.pid" NOTIFY_SOCKET=)
	: >"$rmq_dir/rabbitmq.conf"
	fill "$here/compare/rabbitmq.conf.in" "$rmq_dir/rabbitmq.conf" "${TPORT[rabbitmq]}"
	echo "[]." >"$rmq_dir/enabled_plugins"
	: >"$rmq_dir/rabbitmq-env.conf"
	# epmd first, ours in the foreground (the CLI tools below would
	# otherwise start a daemon one of their own that nobody stops).
	env "${rmq_envv[@]}" "$EPMD" -port "$rmq_epmd" -address 127.0.0.1 </dev/null >/dev/null 2>&1 &
	epmd_pid=$!
	if ! rmq_env timeout 60 "$RABBITMQ_PLUGINS" --offline enable rabbitmq_amqp1_0 \
		>"$rmq_dir/plugins.log" 2>&1 </dev/null; then
		cat "$rmq_dir/plugins.log" >&2
		TNOTE[rabbitmq]="rabbitmq-plugins --offline enable rabbitmq_amqp1_0 failed"
		return 1
	fi
	# Its own session: the Erlang VM and its port programs form one
	# process group whose id is this pid (setsid does not fork here: a
	# background child is never a group leader).
	env "${rmq_envv[@]}" setsid "$RABBITMQ_SERVER" </dev/null >"$rmq_dir/server.out" 2>&1 &
	rmq_pgid=$!
	local t0=$SECONDS ok=0
	while [ $((SECONDS - t0)) -lt 60 ]; do
		kill -0 "$rmq_pgid" 2>/dev/null || break
		if rmq_env timeout 30 "$RABBITMQCTL" -n "$rmq_node" await_startup --timeout 20 \
			>/dev/null 2>&1 </dev/null && ss -Hltn "sport = :${TPORT[rabbitmq]}" | grep -q .; then
			ok=1
			break
		fi
		sleep 0.5
	done
	if [ $ok = 0 ]; then
		log "RabbitMQ node $rmq_node did not start; its log:"
		tail -50 "$rmq_dir/server.out" "$rmq_dir"/log/* >&2 2>/dev/null
		TNOTE[rabbitmq]="did not start (see rabbitmq/)"
		return 1
	fi
	# The Erlang VM does the work: its pid for --router-pid.
	local vm
	vm=$(rmq_env timeout 20 "$RABBITMQCTL" -n "$rmq_node" eval 'os:getpid().' 2>/dev/null </dev/null | tr -dc 0-9)
	[ -n "$vm" ] && kill -0 "$vm" 2>/dev/null || vm=
	TROUTERPID[rabbitmq]=$vm
	TNOTE[rabbitmq]="RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null) with rabbitmq_amqp1_0, a private node, config bench/compare/rabbitmq.conf.in; router figures from its Erlang VM (pid ${vm:-unknown}). A \"failed: lost N\" cell here counts messages not delivered before the bench stopped waiting (its drain ends after 2 s without an arrival), not messages the broker dropped: checked once after such a run, most were still in the queue (docs/bench.md)"
}

ran_targets=()
for t in $targets; do
	case $t in
	rpcrouterd | qdrouterd | rabbitmq)
		log "starting $t"
		if "start_$t"; then
			ran_targets+=("$t")
		else
			log "$t: ${TNOTE[$t]}"
		fi ;;
	direct)
		TNOTE[direct]="rpcrouter-bench --direct: no router, the generator talks to itself (the ceiling)"
		ran_targets+=(direct) ;;
	*) log "unknown target $t"; exit 2 ;;
	esac
done
[ ${#ran_targets[@]} -gt 0 ] || { log "no target to run"; exit 1; }

# ---- the runs ----
col_of() { case $1 in rpcrouterd) echo 3 ;; qdrouterd) echo 4 ;; rabbitmq) echo 5 ;; direct) echo 6 ;; esac; }

# the n/a mark of a row: the row's options as params (the report matches
# them as a subset of each row's params)
na_line() { # TARGET SCENARIO REASON OPTIONS...
	local t=$1 s=$2 reason=$3
	shift 3
	$PY - "$t" "$s" "$reason" "$@" <<'EOF'
import json, sys
t, s, reason, opts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
names = {"--body-size": "body_size", "--senders": "senders", "--receivers": "receivers",
         "--links-per-conn": "links_per_conn", "--credit": "credit", "--inflight": "inflight",
         "--rate": "rate", "--connections": "connections", "--count": "count"}
params, i = {}, 0
while i < len(opts):
    o = opts[i]
    if o in names and i + 1 < len(opts):
        v = float(opts[i + 1])
        params[names[o]] = int(v) if v == int(v) else v
        i += 2
        continue
    if o == "--presettled":
        params["presettled"] = True
    elif o == "--unsettled":
        params["presettled"] = False
    i += 1
print(json.dumps({"na": {"target": t, "scenario": s, "params": params, "reason": reason}},
                 sort_keys=True))
EOF
}

runid=0
failed=0
t_start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
while IFS='|' read -r id spec c_rr c_qd c_rmq c_dir; do
	id=$(echo "$id" | tr -d ' ')
	[ -n "$id" ] || continue
	spec=$(echo "$spec" | sed -e "s/@D@/$duration/g" -e "s/@C@/$nconn/g" -e "s/@R@/$rate/g")
	# shellcheck disable=SC2086
	set -- $spec
	scen=$1
	shift
	opts=("$@")
	for t in "${ran_targets[@]}"; do
		case $t in
		rpcrouterd) cell=$c_rr ;; qdrouterd) cell=$c_qd ;; rabbitmq) cell=$c_rmq ;; direct) cell=$c_dir ;;
		esac
		cell=$(echo "$cell" | tr -d ' ')
		if [ "${cell%%:*}" = na ]; then
			na_line "$t" "$scen" "${REASON[${cell#na:}]:-${cell#na:}}" "${opts[@]}" >>"$nafile"
			continue
		fi
		if [ $((SECONDS - t_start)) -ge "$max_time" ]; then
			log "--max-time $max_time s reached: $id on $t not run"
			continue
		fi
		runid=$((runid + 1))
		# shellcheck disable=SC2207
		taddr=($(target_args "$t" "$scen" "$runid-$$"))
		targs=(--label "$t" --quiet --out "$results")
		if [ "$t" = direct ]; then
			targs+=(--direct --url "amqp://127.0.0.1:$(free_port)")
		else
			targs+=(--url "amqp://127.0.0.1:${TPORT[$t]}")
			[ -n "${TROUTERPID[$t]}" ] && targs+=(--router-pid "${TROUTERPID[$t]}")
		fi
		case $scen in
		connections) ;; # set-up, then close: no duration
		*) targs+=(--duration "$duration" --timeout $((duration + 90))) ;;
		esac
		log "$id on $t"
		echo "$ $(basename "$bench") $scen ${opts[*]} ${taddr[*]} ${targs[*]}" >>"$out/runs.log"
		if ! timeout -k 5 $((duration + 150)) "$bench" "$scen" "${opts[@]}" "${taddr[@]}" \
			"${targs[@]}" >>"$out/runs.log" 2>&1 </dev/null; then
			failed=$((failed + 1))
			log "$id on $t: failed (see runs.log)"
		fi
	done
done <<<"$MATRIX"

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
wall=$((SECONDS - t_start))

# ---- the report ----
# With --docs the plots go to docs/img/ (only the names this report uses
# are removed first: others' images stay); else beside the results.
if [ "$docs" = 1 ]; then
	img=$docs_dir/img
	mkdir -p "$img"
	rm -f "$img"/*-latency-cdf*.svg "$img"/*-vs-*.svg
else
	img=$out/img
	mkdir -p "$img"
fi
"$bench" report --md "$out/report.md" --img-dir "$img" --img-ref img --title "Side by side" \
	"$results" "$nafile" || exit 1
if [ "$docs" = 1 ]; then
	{
		echo "## Side by side"
		echo
		echo "Written by \`bench/compare.sh\` (docs/bench.md); a re-run replaces this"
		echo "section and the plots in docs/img/. Command: \`$cmdline\`, $duration s per run,"
		echo "one run per cell, $wall s in all; load average (1, 5, 15 min) $load_start at"
		echo "the start, $load_end at the end (the machine is shared: other processes"
		echo "take CPU from the bench and the routers alike). Targets:"
		echo
		for t in rpcrouterd qdrouterd rabbitmq direct; do
			case " $targets " in *" $t "*) ;; *) continue ;; esac
			echo "- **$t**: ${TNOTE[$t]:-}"
		done
		echo
		sed -e '1{/^## /d}' -e '2{/^$/d}' "$out/report.md"
	} >"$out/section.md"
	$PY - "$docs_dir/performance.md" "$out/section.md" <<'EOF'
import sys
path, section = sys.argv[1], open(sys.argv[2]).read()
lines = open(path).read().split("\n")
out, i, done = [], 0, False
while i < len(lines):
    if lines[i].strip() == "## Side by side" and not done:
        i += 1
        while i < len(lines) and not lines[i].startswith("## "):
            i += 1
        out.extend(section.rstrip("\n").split("\n"))
        out.append("")
        done = True
        continue
    out.append(lines[i])
    i += 1
text = "\n".join(out)
if not done:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text.rstrip("\n") + "\n")
EOF
	log "docs/performance.md \"Side by side\" and docs/img/ updated"
fi
log "$runid runs, $failed failed"
[ "$failed" = 0 ]
