"""The bash completion offers every option of every command: the options
are read from the commands' getopt tables (or, for the commands that
parse by hand, from their --help), the completion's from running its
function in bash with bash-completion's helpers stubbed."""
import os
import re
import subprocess

import pytest

from conftest import BINARY, ROOT

pytestmark = pytest.mark.untimed

COMPLETION = os.path.join(ROOT, "completions", "pgo-sandbox.bash")
OPTION = re.compile(r'\{"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument')
TABLE = re.compile(r"static const struct option \w+\[\] = \{(.*?)\n\s*\};", re.S)

# command -> (source file, which of its option tables)
TABLES = {
    "run": ("runner/cli/run_options.c", None),
    "stage": ("runner/cli/stage_options.c", None),
    "pipeline": ("runner/cli/stage_options.c", None),
    "verify": ("runner/cli/stage_options.c", None),
    "bench": ("runner/cli/bench.c", None),
    "forensics": ("runner/cli/forensics.c", None),
    "history": ("runner/cli/history.c", None),
    "image": ("runner/cli/image.c", None),
    "pack": ("runner/cli/pack.c", None),
    "unpack": ("runner/cli/unpack.c", None),
    "init": ("runner/cli/init.c", None),
}
BY_HAND = ("doctor", "host", "inspect")


def table_options(path, which):
    with open(os.path.join(ROOT, path)) as f:
        tables = TABLE.findall(f.read())
    assert tables, f"no option table in {path}"
    chosen = tables if which is None else [tables[which]]
    return {"--" + o for t in chosen for o in OPTION.findall(t)}


def help_options(command):
    r = subprocess.run([BINARY, command, "--help"], capture_output=True, text=True)
    return set(re.findall(r"--[a-z][a-z0-9-]*", r.stdout + r.stderr)) | {"--help"}


def completed(*words):
    """What the completion offers after `pgo-sandbox WORDS... --`."""
    script = f"""
_init_completion() {{ words=("${{COMP_WORDS[@]}}"); cword=$COMP_CWORD;
  cur="${{words[cword]}}"; prev="${{words[cword-1]}}"; }}
_filedir() {{ :; }}
_command_offset() {{ :; }}
complete() {{ :; }}
. '{COMPLETION}'
COMP_WORDS=(pgo-sandbox {' '.join(words)} --); COMP_CWORD={len(words) + 1}
_pgo_sandbox
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


@pytest.mark.parametrize("command", sorted(TABLES) + list(BY_HAND))
def test_completion_offers_every_option(command):
    if command in TABLES:
        want = table_options(*TABLES[command])
    else:
        want = help_options(command)
    words = ("history", "list") if command == "history" else (command,)
    missing = want - completed(*words)
    assert not missing, f"completions/pgo-sandbox.bash lacks {command} {sorted(missing)}"


def test_bench_completion_has_the_options_the_issue_names():
    got = completed("bench")
    for opt in ("--benchmarks", "--explain", "--no-host-tuning", "--show-output", "--nice"):
        assert opt in got


def test_readme_says_how_to_install_the_completion():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    assert "completions/pgo-sandbox.bash" in text
