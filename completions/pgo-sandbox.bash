# bash completion for pgo-sandbox
_pgo_sandbox()
{
	local cur prev words cword
	_init_completion || return
	local commands="run init stage pipeline verify inspect bench forensics history doctor host image pack unpack version help"
	if [ "$cword" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi
	if [ "${words[1]}" = history ] && [ "$cword" -eq 2 ]; then
		COMPREPLY=($(compgen -W "record import list show compare promote baselines trend steps
		export --help" -- "$cur"))
		return
	fi
	if [ "${words[1]}" = history ]; then
		case "$prev" in
		--store | --out | -o | --output | --against) _filedir; return ;;
		--format) COMPREPLY=($(compgen -W "bmf bench-json" -- "$cur")); return ;;
		esac
	fi
	# after "--" the rest is the sandboxed command
	local i
	for ((i = 2; i < cword; i++)); do
		if [ "${words[i]}" = "--" ]; then
			_command_offset $((i + 1))
			return
		fi
	done
	case "$prev" in
	--image) COMPREPLY=($(compgen -W host -- "$cur")); _filedir; return ;;
	--ro-bind | --ro-bind-idmap | --bind | --report | --json | --markdown | --svg | --pipeline | --sysfs-root | \
		--state-dir | --artifacts | --rerun | --chdir | --tmpfs | --rules | --against)
		_filedir
		return
		;;
	--output) _filedir; return ;;
	--compiler) COMPREPLY=($(compgen -W "gcc clang" -- "$cur")); return ;;
	--governor) COMPREPLY=($(compgen -W "performance powersave schedutil ondemand" -- "$cur")); return ;;
	--metric) COMPREPLY=($(compgen -W "wall cpu instructions est-cycles rss" -- "$cur")); return ;;
	esac
	local opts
	case "${words[1]}" in
	run)
		opts="--image --ro-bind --ro-bind-idmap --bind --tmpfs --tmpfs-size --chdir --hostname --uid --gid --userns
		--keep-env --setenv --source-date-epoch --pass-fd --timeout --kill-grace --rlimit --cpus
		--memory --pids --cpu-weight --cpu-max --cgroup-parent --no-turbo --governor --no-aslr --entropy-seed
		--sysfs-root --state-dir --seccomp-log --allow-ptrace --allow-perf --report --strict --no-idmap
		--no-openat2 --help"
		;;
	stage | pipeline | verify)
		opts="--pipeline --artifacts --shard --force --failure-mode --compression --until --json
		--keep --check --no-idmap --help"
		;;
	image) opts="build digest --out --mirror --cache-dir --json --help" ;;
	inspect) opts="--json --help" ;;
	bench)
		opts="--baseline --candidate --variant --preload --benchmark --benchmarks --runs --warmup --max-runs
		--threshold --confidence --fail-on-regression --only --strict --aa-control --metric-regex
		--metric-json --metric-direction --against --allow-other-host --rules --record --commit --branch --matrix
		--randomize-layout --counters --callgrind --cachegrind --explain --metric --json --markdown
		--svg --rerun --cpus --allow-smt-siblings --seed --entropy-seed --show-output --no-host-tuning
		--no-workdir --nice --help
		--image --ro-bind --ro-bind-idmap --bind --tmpfs --tmpfs-size --chdir --setenv --keep-env
		--timeout --memory --pids --rlimit --cgroup-parent --uid --gid --userns --no-idmap
		--allow-ptrace --allow-perf --sysfs-root --state-dir"
		;;
	forensics) opts="--benchmark --variant-a --variant-b --json --help" ;;
	history)
		opts="--store --project --pipeline --stage --commit --branch --time --shipped --benchmark
		--metric --variant --run --any-host --json --limit --as --baseline --against
		--fail-on-regression --out --format -o --output --help"
		;;
	init) opts="--output --compiler --help" ;;
	doctor) opts="--json --sysfs-root --help" ;;
	host) opts="restore status --sysfs-root --state-dir --force --help" ;;
	pack) opts="--mtime --compression --level --help" ;;
	unpack) opts="--max-bytes --max-entries --max-ratio --max-entry-bytes --help" ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	[ ${#COMPREPLY[@]} -eq 0 ] && _filedir
}
complete -F _pgo_sandbox pgo-sandbox
