#!/usr/bin/env bash
# rpcrouter bootstrap: the README's two commands.
#
#   scripts/bootstrap.sh run  [rpcrouterd args...]
#       install what is missing (apt), build build/, start rpcrouterd
#       (no args: its embedded default, socket driver on 127.0.0.1:5672)
#   scripts/bootstrap.sh test
#       install what is missing, then build and test three trees:
#         build/       gcc, debugoptimized, -Dwerror=true      meson test (all suites)
#         build-asan/  gcc, -Dsanitize=true (ASan+UBSan)       meson test --suite unit --suite system
#         build-fuzz/  clang, -Dfuzz=true -Dsanitize=true      meson test (all suites)
#       print a summary and exit non-zero on any failure.
#   scripts/bootstrap.sh deps
#       only install what is missing.
#
# Works on Debian 12 (bookworm) as root (or through sudo when not root).
# apt is not touched when every package is already installed, so a second
# run is fast and works offline. The AMQP spec and qdrouterd schema are read
# from ../shared beside the repository.
set -euo pipefail

# Exactly what the build and the tests need (Debian 12 names).
PACKAGES=(
	build-essential        # gcc, g++, make, libc6-dev
	meson ninja-build pkg-config python3
	libqpid-proton11-dev   # proton-C: the codec oracle, later SASL/Open
	python3-qpid-proton    # system tests with a real client
	libgtest-dev           # googletest (unit tests)
	clang libclang-rt-14-dev  # libFuzzer and sanitizers under clang
	llvm                   # llvm-symbolizer: sanitizer reports with file:line
	libdpdk-dev libnuma-dev   # the dpdk driver
	libssl-dev             # TLS
	libsasl2-dev sasl2-bin # Cyrus SASL (saslpasswd2 for system tests)
	libsasl2-modules libsasl2-modules-db  # Cyrus PLAIN and sasldb plugins
	python3-oslo.messaging # system tests: oslo.messaging's AMQP 1.0 and rabbit drivers
	python3-pyngus         # oslo's AMQP 1.0 driver needs it; python3-oslo.messaging does not depend on it
	rabbitmq-server        # system tests: the notification backend (dual backends)
	iproute2 iputils-ping  # dpdk system tests: network namespaces, veth pairs, ping the native stack
	strace                 # dpdk system test: no system call in a worker's poll loop (strace -c)
)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$ROOT/.." && pwd)/shared

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --- dependencies ----------------------------------------------------------

missing_packages() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$status" = installed ] || printf '%s\n' "$p"
	done
}

install_deps() {
	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		say "not a Debian system (no dpkg/apt): make sure these are installed: ${PACKAGES[*]}"
		return 0
	fi
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	if [ -z "${missing// /}" ]; then
		say "all ${#PACKAGES[@]} packages already installed"
		return 0
	fi
	local sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and no sudo: as root, run: apt-get install $missing"
		sudo=(sudo)
	fi
	say "installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get -q update ||
		die "apt-get update failed (offline?); missing packages: $missing"
	# shellcheck disable=SC2086
	"${sudo[@]}" apt-get -q install -y --no-install-recommends $missing ||
		die "apt-get install failed; missing packages: $missing"
	missing=$(missing_packages | tr '\n' ' ')
	[ -z "${missing// /}" ] || die "still missing after apt-get install: $missing"
}

check_shared() {
	[ -f "$SHARED/reference/amqp-1.0/types.xml" ] ||
		die "$SHARED/reference/amqp-1.0/types.xml not found: the repository's sibling folder 'shared' (spec and reference files) must sit beside it"
}

# --- build trees -----------------------------------------------------------

# c_compiler_id DIR: the compiler (gcc or clang) DIR was configured with, or
# "". setup writes it to DIR/.rr-compiler (meson 1.0 has no
# intro-compilers.json to read it back from).
c_compiler_id() {
	local f="$1/.rr-compiler"
	[ -f "$f" ] && cat "$f"
	return 0
}

# setup DIR COMPILER(gcc|clang) MESON-OPTIONS...: configure DIR, reusing it when it
# was configured before with the same compiler.
setup() {
	local dir="$ROOT/$1" compiler="$2"
	shift 2
	local -a env_cc=()
	[ "$compiler" = clang ] && env_cc=(CC=clang CXX=clang++)
	local log rc=0
	log=$(mktemp)
	if [ -f "$dir/meson-private/coredata.dat" ] && [ "$(c_compiler_id "$dir")" = "$compiler" ]; then
		meson setup --reconfigure "$dir" "$ROOT" "$@" >"$log" 2>&1 || rc=$?
	else
		rm -rf "$dir"
		env "${env_cc[@]}" meson setup "$dir" "$ROOT" "$@" >"$log" 2>&1 || rc=$?
	fi
	[ "$rc" = 0 ] || cat "$log"
	[ "$rc" = 0 ] && printf '%s\n' "$compiler" >"$dir/.rr-compiler"
	rm -f "$log"
	return "$rc"
}

build() {
	ninja -C "$ROOT/$1"
}

COMMON_OPTS=(--buildtype=debugoptimized -Dwerror=true -Dtests=enabled)

# --- run -------------------------------------------------------------------

cmd_run() {
	install_deps
	check_shared
	say "configuring and building build/"
	setup build gcc "${COMMON_OPTS[@]}"
	build build >/dev/null || { build build; exit 1; }
	say "starting build/control/rpcrouterd $*"
	exec "$ROOT/build/control/rpcrouterd" "$@"
}

# --- test ------------------------------------------------------------------

declare -a SUMMARY=()
TOTAL_PASS=0
TOTAL_FAIL=0

# count_results DIR: print "pass fail skip gtest_cases" from DIR's last meson test log.
count_results() {
	python3 - "$ROOT/$1/meson-logs/testlog.json" <<'EOF'
import json, re, sys
p = f = s = cases = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    try:
        t = json.loads(line)
    except ValueError:
        continue
    r = t.get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
    m = re.findall(r"\[  PASSED  \] (\d+) tests?\.", t.get("stdout") or "")
    cases += sum(int(x) for x in m)
print(p, f, s, cases)
EOF
}

# stage NAME DESCRIPTION COMPILER MESON-TEST-ARGS -- MESON-OPTIONS...
stage() {
	local name="$1" desc="$2" compiler="$3"
	shift 3
	local -a test_args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do test_args+=("$1"); shift; done
	shift
	local t0=$SECONDS status=ok p=0 f=0 s=0 cases=0
	say "== $name/: $desc"
	rm -f "$ROOT/$name/meson-logs/testlog.json"
	if ! setup "$name" "$compiler" "$@"; then
		status="configure FAILED"
	elif ! build "$name"; then
		status="build FAILED"
	else
		meson test -C "$ROOT/$name" --no-rebuild --print-errorlogs "${test_args[@]}" || status="tests FAILED"
		read -r p f s cases < <(count_results "$name")
		if [ "$status" = ok ] && [ "$p" = 0 ]; then
			status="FAILED: no test ran"
		fi
	fi
	[ "$status" = ok ] || f=$((f == 0 ? 1 : f))
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	SUMMARY+=("$(printf '%-11s %-44s %4d passed %3d failed %3d skipped %7d gtest cases %5ds  %s' \
		"$name/" "$desc" "$p" "$f" "$s" "$cases" $((SECONDS - t0)) "$status")")
}

cmd_test() {
	local t0=$SECONDS
	install_deps
	check_shared
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"

	stage build "gcc, debugoptimized, werror" gcc -- \
		"${COMMON_OPTS[@]}"
	stage build-asan "gcc, ASan+UBSan, unit and system suites" gcc --suite unit --suite system --timeout-multiplier 4 -- \
		"${COMMON_OPTS[@]}" -Dsanitize=true
	if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
		stage build-fuzz "clang, fuzz targets, ASan+UBSan" clang --timeout-multiplier 4 -- \
			"${COMMON_OPTS[@]}" -Dsanitize=true -Dfuzz=true
	else
		SUMMARY+=("$(printf '%-11s %-44s skipped: clang not found' build-fuzz/ "clang, fuzz targets")")
	fi

	echo
	say "summary ($((SECONDS - t0))s)"
	printf '  %s\n' "${SUMMARY[@]}"
	echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed"
	[ "$TOTAL_FAIL" = 0 ]
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
test) shift; [ $# = 0 ] || die "test takes no arguments"; cmd_test ;;
deps) install_deps ;;
-h|--help|help) usage ;;
*) usage >&2; exit 2 ;;
esac
