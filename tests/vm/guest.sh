#!/bin/sh
# guest.sh - the VM tier's tests, run by /init2 inside the VM as root on a
# pure cgroup v2 hierarchy.  Prints "ok N - name" / "not ok N - name" (with
# "#" diagnostics) between markers, then "vm: N passed, N failed".  Nothing
# is skipped: a missing binary or probe is a failure.

P=/usr/bin/pgo-sandbox
PROBES=/usr/lib/pgo-sandbox/probes
CG=/sys/fs/cgroup
RUNS=$CG/pgo-sandbox
T=/tmp/vmt
mkdir -p "$T"
n=0
passed=0
failed=0

# test NAME FUNCTION: the function returns 0 for a pass; what it wrote to
# stdout is shown on a failure, what it wrote to $T/info always.
test_case() {
	: >"$T/diag"
	: >"$T/info"
	n=$((n + 1))
	if "$2" >>"$T/diag" 2>&1; then
		passed=$((passed + 1))
		echo "ok $n - $1"
		sed 's/^/#   /' "$T/info"
	else
		failed=$((failed + 1))
		echo "not ok $n - $1"
		sed 's/^/#   /' "$T/diag" | head -n 40
	fi
}

# sandbox ARGS...: run pgo-sandbox with a safety timeout; stdout+stderr in
# $T/out, exit code in $rc.
sandbox() {
	timeout 120 "$P" "$@" >"$T/out" 2>&1
	rc=$?
	echo "\$ pgo-sandbox $* -> exit $rc"
	sed 's/^/  | /' "$T/out" | head -n 20
}

# JSON on one line with no blanks around ':' and ',', for grep.
norm() {
	tr -d '\n' <"$1" | sed 's/[[:space:]]*:[[:space:]]*/:/g; s/[[:space:]]*,[[:space:]]*/,/g;
		s/{[[:space:]]*/{/g; s/[[:space:]]*}/}/g'
}

# The "controls" object of a report: "name":{..},"name":{..} (flat objects,
# so it ends at the first "}}").
controls() {
	norm "$1" | sed -n 's/.*"controls":{\(.*\)/\1/p' | sed 's/}}.*/}/'
}

# FILE CONTROL -> applied|degraded|unavailable|"" (controls are flat
# objects {"detail":..,"state":..} in either key order)
control_state() {
	controls "$1" | sed -n "s/.*\"$2\":{\([^}]*\)}.*/\1/p" |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'
}

run_dirs() {
	find "$RUNS" -mindepth 1 -maxdepth 1 -type d 2>/dev/null
}

# Processes whose program (argv[0] basename) is $1 and whose command line
# contains $2; busybox timeout's watcher ("timeout 120 pgo-sandbox ...") is
# not one of them.
procs() {
	ps -o pid,args | awk -v c="$1" -v a="$2" \
		'NR > 1 { n = $2; sub(".*/", "", n); if (n == c && index($0, a)) print }'
}

# Wait (bounded) until no such process exists.
gone_eventually() {
	i=0
	while [ -n "$(procs "$1" "$2")" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "still running:"; procs "$1" "$2"; return 1; }
		sleep 0.2
	done
	return 0
}

# ---- plumbing ----

t_controllers() {
	c=$(cat "$CG/cgroup.controllers")
	echo "cgroup.controllers: $c"
	for want in cpuset cpu memory pids; do
		echo " $c " | grep -q " $want " || return 1
	done
}

t_probe_runs() {
	out=$("$PROBES/memhog" 1) || return 1
	echo "$out"
	[ "$out" = "memhog: allocated 1 MiB" ]
}

t_binary() {
	ls -l "$P" "$PROBES"
	[ -x "$P" ] && [ -x "$PROBES/memhog" ] && [ -x "$PROBES/forkbomb" ]
}

# ---- the runner ----

t_doctor() {
	sandbox doctor --json
	[ $rc -eq 0 ] || return 1
	j=$(norm "$T/out")
	for c in cpuset cpu memory pids; do
		echo "$j" | grep -q "\"name\":\"cgroup.$c\",\"status\":\"ok\"" ||
			{ echo "cgroup.$c is not ok"; return 1; }
	done
}

t_run_echo() {
	sandbox run -- echo hello-from-the-sandbox
	[ $rc -eq 0 ] && grep -qx hello-from-the-sandbox "$T/out"
}

t_cpus() {
	rm -f "$T/fifo" "$T/r.json"
	mkfifo "$T/fifo"
	timeout 120 "$P" run --cpus 2-3 --report "$T/r.json" -- \
		sh -c 'grep Cpus_allowed_list /proc/self/status; echo ready; sleep 5' \
		>"$T/fifo" 2>"$T/err" &
	bg=$!
	line=
	while read -r line; do
		echo "  | $line"
		case $line in
		Cpus_allowed_list:*) allowed=$(echo "$line" | sed 's/^Cpus_allowed_list:[[:space:]]*//') ;;
		ready) break ;;
		esac
	done <"$T/fifo"
	# the command is sleeping now: look at its cgroup from outside
	dirs=$(run_dirs)
	echo "run cgroups: $dirs"
	eff=
	[ "$(echo "$dirs" | grep -c .)" -eq 1 ] && eff=$(cat "$dirs/cpuset.cpus.effective")
	wait $bg
	rc=$?
	cat "$T/err"
	echo "exit $rc, Cpus_allowed_list '$allowed', cpuset.cpus.effective '$eff'"
	state=$(control_state "$T/r.json" cgroup.cpuset)
	echo "report cgroup.cpuset: $state"
	[ $rc -eq 0 ] && [ "$allowed" = 2-3 ] && [ "$eff" = 2-3 ] && [ "$state" = applied ]
}

# The report's cgroup statistics ("cgroup":{"usage_usec":1,..}: numbers,
# unlike the "cgroup" control's {"detail":"..",..}).
cgroup_stats() {
	norm "$1" | sed -n 's/.*"cgroup":{\("[a-z_]*":[0-9][^}]*\)}.*/\1/p'
}

stat_value() {   # FILE KEY
	cgroup_stats "$1" | tr ',' '\n' | sed -n "s/^\"$2\":\([0-9]*\)$/\1/p"
}

t_memory_oom() {
	rm -f "$T/r.json"
	sandbox run --memory 32M --report "$T/r.json" -- "$PROBES/memhog" 512
	oom=$(stat_value "$T/r.json" oom_kill)
	peak=$(stat_value "$T/r.json" memory_peak)
	echo "cgroup.memory: $(control_state "$T/r.json" cgroup.memory)"
	echo "stats: $(cgroup_stats "$T/r.json")" | tee "$T/info"
	# the peak can never pass memory.max
	[ $rc -eq 122 ] && [ -n "$oom" ] && [ "$oom" -ge 1 ] &&
		[ -n "$peak" ] && [ "$peak" -gt 0 ] && [ "$peak" -le $((32 << 20)) ]
}

t_pids_forkbomb() {
	rm -f "$T/r.json"
	sandbox run --pids 16 --timeout 60 --report "$T/r.json" -- "$PROBES/forkbomb"
	grep -q 'forkbomb: fork failed after [0-9]* children: EAGAIN' "$T/out" || return 1
	made=$(sed -n 's/.*fork failed after \([0-9]*\) children.*/\1/p' "$T/out")
	echo "stats: $(cgroup_stats "$T/r.json")" | tee "$T/info"
	pk=$(stat_value "$T/r.json" pids_peak)
	[ -z "$pk" ] || [ "$pk" -le 16 ] || { echo "pids_peak $pk > 16"; return 1; }
	[ $rc -eq 0 ] && [ "$made" -lt 16 ] && gone_eventually forkbomb ''
}

t_timeout() {
	sandbox run --timeout 1 -- sleep 100
	[ $rc -eq 124 ] || return 1
	gone_eventually sleep 'sleep 100' || return 1
	left=$(run_dirs)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

t_sigkill_runner() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$P" run -- sh -c 'echo ready; exec sleep 1000' >"$T/fifo" 2>"$T/err" &
	bg=$!
	read -r line <"$T/fifo"
	echo "child said '$line'"
	before=$(run_dirs)
	echo "run cgroup: $before"
	kill -KILL $bg
	wait $bg
	gone_eventually sleep 'sleep 1000' || { echo "sandboxed process survived"; return 1; }
	gone_eventually pgo-sandbox '' || { echo "the sandbox's init survived"; return 1; }
	[ -n "$before" ] || { echo "no run cgroup was seen"; return 1; }
	for d in $before; do
		[ -d "$d" ] || { echo "$d vanished before the next run"; return 1; }
	done
	sandbox run -- true
	[ $rc -eq 0 ] || return 1
	for d in $before; do
		[ ! -e "$d" ] || { echo "stale $d still there"; return 1; }
	done
}

t_strict() {
	rm -f "$T/r.json"
	sandbox run --strict --cpus 0-1 --memory 64M --pids 64 --report "$T/r.json" -- true
	[ $rc -eq 0 ] || return 1
	bad=$(controls "$T/r.json" | grep -o '"[a-z0-9_.-]*":{[^}]*}' | grep -v '"state":"applied"')
	[ -z "$bad" ] || { echo "not applied: $bad"; return 1; }
	for c in cgroup cgroup.cpuset cgroup.memory cgroup.pids; do
		[ "$(control_state "$T/r.json" $c)" = applied ] || { echo "$c not applied"; return 1; }
	done
}

t_unit_in_vm() {
	/tests/test_cgroup 2>&1 | tail -n 25
	# a pipeline's status is tail's: run again for the exit code, quietly
	/tests/test_cgroup >/dev/null 2>&1
}

t_nothing_left() {
	left=$(run_dirs)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
	left=$(procs pgo-sandbox '')
	[ -z "$left" ] || { echo "still running:"; echo "$left"; return 1; }
}

echo "=== pgo-vm-tests begin ==="
echo "# kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus"
test_case "cgroup v2 offers cpuset cpu memory pids" t_controllers
test_case "a C probe runs" t_probe_runs
test_case "pgo-sandbox and the probes are present" t_binary
test_case "doctor --json reports every cgroup controller" t_doctor
test_case "run -- echo" t_run_echo
test_case "--cpus 2-3: affinity and cpuset.cpus.effective are 2-3" t_cpus
test_case "--memory 32M: the hog is OOM-killed, exit 122, oom_kill >= 1" t_memory_oom
test_case "--pids 16: fork fails with EAGAIN and the run ends" t_pids_forkbomb
test_case "--timeout 1: exit 124, no process or cgroup left" t_timeout
test_case "SIGKILL of the runner: nothing survives, next run cleans the cgroup" t_sigkill_runner
test_case "--strict with cgroup limits: every control applied" t_strict
if [ -x /tests/test_cgroup ]; then
	test_case "unit test_cgroup on a full cgroup v2" t_unit_in_vm
fi
test_case "no run cgroup or runner left at the end" t_nothing_left
echo "vm: $passed passed, $failed failed"
echo "=== pgo-vm-tests end ==="
