# rr_start_of PID: the start time (field 22 of /proc/PID/stat) of a
# running, not zombie, process; nothing if there is none. "PID START" names
# a process for a clean-up: a pid that ended long ago may be another
# process's by then. Sourced by lib.sh and guard.sh (which cannot source
# lib.sh: it runs on its own after the test's shell is gone).
rr_start_of() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) } # past "pid (comm) ", comm may hold spaces
	# shellcheck disable=SC2086
	set -- $s
	[ "$1" != Z ] && echo "${20}"
}
