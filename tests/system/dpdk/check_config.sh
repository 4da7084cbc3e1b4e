#!/bin/bash
# The dpdk driver's configuration (docs/config.md, dataplane dpdk*): every
# invalid value stops rpcrouterd --check with exit 1 and FILE:LINE, a valid
# one passes, and --driver dpdk runs the same checks on any file. Needs a
# DPDK build only (no root, no EAL: --check does not start the driver).
# Usage: check_config.sh RPCROUTERD
set -u
RPCROUTERD=${1:?rpcrouterd}
TMP=$(mktemp -d /tmp/rrdpdkcfg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0

# expect NAME STATUS PATTERN [rpcrouterd args...]: config text on stdin
expect() {
	local name=$1 want=$2 pat=$3
	shift 3
	cat >"$TMP/$name.conf"
	out=$("$RPCROUTERD" -c "$TMP/$name.conf" --check "$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
		echo "FAIL: $name: exit $rc (want $want), output:"
		echo "$out" | sed 's/^/    /'
		echo "  want a line matching: $pat"
		fail=1
	else
		echo "ok: $name"
	fi
}

good='dataplane {
    driver: dpdk
    dpdkEal: -l 0,1 --no-huge -m 512 --file-prefix rr1 --no-pci
    dpdkPorts: net_tap0,iface=rrtap0
    dpdkAddress: 10.77.0.2/24'
listener='listener {
    host: 0.0.0.0
    port: 5672
}'

expect valid 0 'dataplane: dpdk driver, 1 worker' <<EOF
$listener
$good
    dpdkGateway: 10.77.0.1
    dpdkIdleBackoffUs: 100
}
EOF
expect bad_address 1 'bad_address.conf:9: error: dataplane: dpdkAddress .10\.77\.0\.300/24.' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0
    dpdkAddress: 10.77.0.300/24
}
EOF
expect no_prefix 1 'no_prefix.conf:9: error: dataplane: dpdkAddress' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0
    dpdkAddress: 10.77.0.2
}
EOF
expect prefix_33 1 'prefix_33.conf:9: error: dataplane: dpdkAddress' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0
    dpdkAddress: 10.77.0.2/33
}
EOF
expect bad_gateway 1 'bad_gateway.conf:10: error: dataplane: dpdkGateway .gw.' <<EOF
$listener
$good
    dpdkGateway: gw
}
EOF
expect backoff_range 1 'backoff_range.conf:10: error: dataplane: dpdkIdleBackoffUs 2000000 is out of range' <<EOF
$listener
$good
    dpdkIdleBackoffUs: 2000000
}
EOF
expect two_ports 1 'two_ports.conf:8: error: dataplane: dpdkPorts' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0 net_tap1
    dpdkAddress: 10.77.0.2/24
}
EOF
expect bad_fault 1 'bad_fault.conf:10: error: dataplane: dpdkFaultInjection: fault spec: .drop=2.' <<EOF
$listener
$good
    dpdkFaultInjection: drop=2
}
EOF
expect good_fault 0 'configuration OK' <<EOF
$listener
$good
    dpdkFaultInjection: drop=0.01,dup=0.01,reorder=0.01:1ms,delay=0.01:200us,seed=3
}
EOF
expect huge_and_no_huge 1 'huge_and_no_huge.conf:5: error: dataplane: hugepages: yes, but dpdkEal says --no-huge' <<EOF
$listener
$good
    hugepages: yes
}
EOF
expect missing 1 'missing.conf:5: error: dataplane: the dpdk driver needs dpdkAddress' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0
}
EOF
expect foreign_host 1 'foreign_host.conf:1: error: listener: host .127\.0\.0\.1.: the dpdk driver' <<EOF
listener {
    host: 127.0.0.1
    port: 5672
}
$good
}
EOF
expect own_host 0 'configuration OK' <<EOF
listener {
    host: 10.77.0.2
    port: 5672
}
$good
}
EOF
expect socket_warns 0 'socket_warns.conf:6: warning: dataplane: dpdkEal applies to the dpdk driver only' <<EOF
$listener
dataplane {
    dpdkEal: -l 0,1
}
EOF
expect flag_checks 1 'flag_checks.conf:1: error: listener: host .127\.0\.0\.1.' --driver dpdk <<EOF
listener {
    host: 127.0.0.1
    port: 5672
}
EOF
# the file must be valid as written: the flag then changes the driver
expect flag_socket 0 'dataplane: socket driver' --driver socket <<EOF
$listener
$good
}
EOF
# several ports: dpdkPorts separated by ';', an address per port, one
# default route at most (docs/dpdk.md "Several ports")
two='dataplane {
    driver: dpdk
    dpdkEal: -l 0,1 --no-huge -m 512 --file-prefix rr1 --no-pci
    dpdkPorts: net_tap0,iface=a;net_tap1,iface=b'
expect ports_valid 0 'configuration OK' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: ;10.78.0.1
}
EOF
expect ports_one_gateway 0 'configuration OK' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: 10.78.0.1
}
EOF
expect ports_count 1 'ports_count.conf:9: error: dataplane: dpdkAddress has 1 entry for 2 ports' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24
}
EOF
expect ports_count3 1 'ports_count3.conf:9: error: dataplane: dpdkAddress has 3 entries for 2 ports' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24;10.79.0.2/24
}
EOF
expect ports_dup 1 "ports_dup.conf:8: error: dataplane: dpdkPorts: port 'net_tap0' is given twice" <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0,iface=a;net_tap0,iface=b
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
}
EOF
expect ports_empty 1 'ports_empty.conf:8: error: dataplane: dpdkPorts .net_tap0;.' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0;
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
}
EOF
expect ports_overlap 1 'ports_overlap.conf:9: error: dataplane: dpdkAddress: 10\.77\.0\.2/24 and 10\.77\.5\.2/16 overlap' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.77.5.2/16
}
EOF
expect ports_bad_second 1 'ports_bad_second.conf:9: error: dataplane: dpdkAddress .10\.78\.0\.2.' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2
}
EOF
expect ports_two_gateways 1 'ports_two_gateways.conf:10: error: dataplane: dpdkGateway .10\.77\.0\.1;10\.78\.0\.1.: one default route only' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: 10.77.0.1;10.78.0.1
}
EOF
expect ports_gateway_count 1 'ports_gateway_count.conf:10: error: dataplane: dpdkGateway has 3 entries for 2 ports' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: ;;10.78.0.1
}
EOF
expect ports_gateway_offlink 1 'ports_gateway_offlink.conf:10: error: dataplane: dpdkGateway 10\.79\.0\.1 is on none' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: 10.79.0.1
}
EOF
expect ports_gateway_wrong_port 1 'ports_gateway_wrong_port.conf:10: error: dataplane: dpdkGateway .;10\.77\.0\.1.: the gateway of port 1 is not on its subnet' <<EOF
$listener
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
    dpdkGateway: ;10.77.0.1
}
EOF
expect ports_listener_second 0 'configuration OK' <<EOF
listener {
    host: 10.78.0.2
    port: 5672
}
$two
    dpdkAddress: 10.77.0.2/24;10.78.0.2/24
}
EOF
expect ports_nine 1 'ports_nine.conf:8: error: dataplane: dpdkPorts: more than 8 ports' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0;net_tap1;net_tap2;net_tap3;net_tap4;net_tap5;net_tap6;net_tap7;net_tap8
    dpdkAddress: 10.77.0.2/24
}
EOF
# more entries than the splitter keeps (8 + 1): the count as given
expect ports_count12 1 'ports_count12.conf:9: error: dataplane: dpdkAddress has 12 entries for 2 ports' <<EOF
$listener
$two
    dpdkAddress: 10.1.0.2/24;10.2.0.2/24;10.3.0.2/24;10.4.0.2/24;10.5.0.2/24;10.6.0.2/24;10.7.0.2/24;10.8.0.2/24;10.9.0.2/24;10.10.0.2/24;10.11.0.2/24;10.12.0.2/24
}
EOF
# a value longer than the reader holds: refused with FILE:LINE, not cut
# (1023 valid bytes and one more used to load as the first 1023)
long_addr="10.77.0.2/$(printf '0%.0s' $(seq 1011))24"
expect long_address 1 'long_address.conf:9: error: dataplane: dpdkAddress .10\.77\.0\.2/0+\.\.\.. is 1024 bytes long, longer than it can be \(1023 bytes\)' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0
    dpdkAddress: ${long_addr}x
}
EOF
expect long_port 1 'long_port.conf:8: error: dataplane: dpdkPorts: port 0 .* is 501 bytes long' <<EOF
$listener
dataplane {
    driver: dpdk
    dpdkEal: -l 0,1
    dpdkPorts: net_tap0,iface=$(printf 'a%.0s' $(seq 486))
    dpdkAddress: 10.77.0.2/24
}
EOF
exit $fail
