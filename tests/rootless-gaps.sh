#!/bin/sh
# Say what rootless mode could not enforce: run one sandbox as `nobody`
# asking for every control, and list the controls that were not applied.
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(mktemp -d /tmp/pgo-rootless.XXXXXX)
chmod 777 "$dir"
report="$dir/report.json"
runuser -u nobody -- "$binary" run --cpus 0 --memory 256M --pids 64 --no-turbo \
	--sysfs-root /nonexistent --state-dir "$dir/state" --report "$report" -- true
python3 - "$report" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
gaps = {k: v for k, v in doc["controls"].items() if v["state"] != "applied"}
print("rootless mode could not enforce %d of %d controls:" % (len(gaps), len(doc["controls"])))
for name, c in sorted(gaps.items()):
    print("  %-16s %-11s %s" % (name, c["state"], c["detail"]))
PY
rm -rf "$dir"
