"""`pgo-sandbox run`: isolation, exit codes, limits and the report."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import BINARY, ROOT, ROOTLESS, busybox, root_only, run, sandbox


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} missing from /proc/self/status")


# --- exit codes -----------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_status_passes_through(code):
    assert sandbox("sh", "-c", f"exit {code}").returncode == code


def test_signal_death_is_128_plus_n():
    assert sandbox("sh", "-c", "kill -USR1 $$").returncode == 128 + signal.SIGUSR1


def test_command_not_found_is_127_with_one_line():
    r = sandbox("no-such-command-xyz")
    assert r.returncode == 127
    assert r.stderr.strip().count("\n") == 0
    assert "no-such-command-xyz" in r.stderr and "No such file" in r.stderr


def test_not_executable_is_126():
    r = sandbox("/etc/passwd")
    assert r.returncode == 126
    assert "/etc/passwd" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["run", "--bogus", "--", "true"], "--bogus"),
    (["run", "--timeout", "abc", "--", "true"], "--timeout"),
    (["run", "--memory", "12Q", "--", "true"], "--memory"),
    (["run", "--cpus", "3-1", "--", "true"], "reversed"),
    (["run", "--bind", "/nonexistent-src", "/x", "--", "true"], "/nonexistent-src"),
    (["run", "--tmpfs", "relative", "--", "true"], "absolute"),
    (["run", "--setenv", "NOEQUALS", "--", "true"], "NAME=VALUE"),
    (["run", "--rlimit", "bogus=1", "--", "true"], "unknown limit"),
    (["run"], "no command"),
    (["frobnicate"], "unknown command"),
])
def test_bad_usage_is_one_clear_line_and_125(args, needle):
    r = run(*args)
    assert r.returncode == 125
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("pgo-sandbox: ") and needle in lines[0]


# --- privileges -----------------------------------------------------------

def test_no_capabilities_no_new_privs():
    r = sandbox("cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status_field(r.stdout, field), 16) == 0, field
    assert status_field(r.stdout, "NoNewPrivs") == "1"
    assert status_field(r.stdout, "Seccomp") == "2"


def test_never_real_host_root_by_default():
    r = sandbox("id", "-u")
    expected = os.getuid() if ROOTLESS else 65534
    assert r.stdout.strip() == str(expected)


@root_only
def test_uid_zero_only_through_a_user_namespace():
    r = sandbox("cat", "/proc/self/uid_map", opts=("--uid", "0"))
    assert r.returncode == 0, r.stderr
    inside, outside, count = r.stdout.split()
    assert (inside, outside, count) == ("0", "65534", "1")


def test_new_session_without_terminal():
    r = sandbox("sh", "-c", "cat /proc/self/stat")
    fields = r.stdout.rsplit(")", 1)[1].split()
    # fields: state ppid pgrp session tty_nr ...
    pid_session, tty_nr = int(fields[3]), int(fields[4])
    assert tty_nr == 0
    assert pid_session != 0


def test_descriptors_beyond_stdio_are_closed():
    read_end, write_end = os.pipe()
    os.set_inheritable(read_end, True)
    try:
        r = subprocess.run([BINARY, "run", "--", "ls", "/proc/self/fd"],
                           capture_output=True, text=True, pass_fds=(read_end,))
        fds = sorted(int(x) for x in r.stdout.split())
        assert read_end not in fds
        assert fds[:3] == [0, 1, 2] and len(fds) <= 4  # ls's own directory fd
        r = subprocess.run([BINARY, "run", "--pass-fd", str(read_end), "--", "ls",
                            "/proc/self/fd"], capture_output=True, text=True,
                           pass_fds=(read_end,))
        assert read_end in [int(x) for x in r.stdout.split()]
    finally:
        os.close(read_end)
        os.close(write_end)


# --- environment ----------------------------------------------------------

def test_caller_environment_does_not_leak():
    env = dict(os.environ, CI_SECRET_TOKEN="hunter2", LD_PRELOAD="")
    r = sandbox("env", env=env)
    assert "hunter2" not in r.stdout
    assert "CI_SECRET_TOKEN" not in r.stdout
    names = sorted(line.split("=", 1)[0] for line in r.stdout.splitlines())
    assert names == ["HOME", "LANG", "PATH", "TZ"]


def test_keep_env_and_setenv():
    env = dict(os.environ, KEEP_ME="yes", DROP_ME="no")
    r = sandbox("env", opts=("--keep-env", "KEEP_ME", "--setenv", "A=1",
                             "--setenv", "TZ=Europe/Paris", "--source-date-epoch", "1700000000"),
                env=env)
    lines = set(r.stdout.splitlines())
    assert {"KEEP_ME=yes", "A=1", "TZ=Europe/Paris", "SOURCE_DATE_EPOCH=1700000000",
            "LANG=C.UTF-8"} <= lines
    assert not any(line.startswith("DROP_ME") for line in lines)


# --- filesystem -----------------------------------------------------------

def test_host_paths_outside_binds_are_absent():
    r = sandbox("sh", "-c", "ls -A /; for p in /root /home /work /etc/shadow /var /srv /opt;"
                " do test -e $p && echo PRESENT $p; done; true")
    assert "PRESENT" not in r.stdout, r.stdout
    top = set(r.stdout.split())
    assert top <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin",
                   "tmp", "usr"}


def test_generated_etc_is_minimal():
    r = sandbox("ls", "/etc")
    expected = {"group", "hosts", "ld.so.cache", "nsswitch.conf", "passwd"}
    if os.path.isdir("/etc/alternatives"):
        expected.add("alternatives")   # the toolchain's cc, c++... links, read-only
    assert set(r.stdout.split()) == expected


def test_read_only_binds_refuse_writes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("data")
    os.chmod(tmp_path, 0o755)
    os.chmod(src, 0o777)
    r = sandbox("sh", "-c", "cat /in/f; echo x > /in/new; echo rc=$?; touch /usr/x; echo usr=$?",
                opts=("--ro-bind", str(src), "/in"))
    assert r.stdout.startswith("data")
    assert "rc=2" in r.stdout or "rc=1" in r.stdout
    assert "usr=1" in r.stdout
    assert "Read-only file system" in r.stderr
    assert not (src / "new").exists()


def test_read_write_bind_and_chdir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(out, 0o777)
    r = sandbox("sh", "-c", "pwd; echo hello > result", opts=("--bind", str(out), "/out",
                                                              "--chdir", "/out"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/out"
    assert (out / "result").read_text() == "hello\n"


def test_root_is_read_only_and_tmp_is_writable():
    r = sandbox("sh", "-c", "touch /newfile; echo root=$?; touch /tmp/x && echo tmp=ok")
    assert "root=1" in r.stdout and "tmp=ok" in r.stdout


def test_tmpfs_is_size_bounded():
    r = sandbox("sh", "-c", "head -c 3000000 /dev/zero > /tmp/big; echo rc=$?",
                opts=("--tmpfs-size", "1M"))
    assert "rc=1" in r.stdout
    assert "No space left" in r.stderr


def test_minimal_dev():
    r = sandbox("sh", "-c", "ls /dev; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo null=ok")
    names = set(r.stdout.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "shm", "pts", "ptmx"} <= names
    assert "sda" not in names and "vda" not in names and "mem" not in names
    assert "null=ok" in r.stdout


@pytest.mark.parametrize("opts", [(), ("--userns",)], ids=["default", "userns"])
def test_dev_nodes_usable_by_the_command(opts):
    # As real root the nodes are made with mknod, in a user namespace they
    # are bound from the host: either way 0666 character devices, and the
    # command cannot add anything to /dev (read-only, whoever owns it).
    r = sandbox("sh", "-c", "for n in null zero full random urandom tty; do"
                " stat -c '%n %a %F %t:%T' /dev/$n; done; id -u;"
                " (: > /dev/new) 2>/dev/null; echo add=$?", opts=opts)
    want = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8",
            "urandom": "1:9", "tty": "5:0"}
    for name, dev in want.items():
        assert f"/dev/{name} 666 character special file {dev}" in r.stdout, r.stdout
    assert "add=2" in r.stdout


def test_proc_is_fresh_and_hardened():
    r = sandbox("sh", "-c", "ls /proc | grep -E '^[0-9]+$' | wc -l;"
                " echo 1 > /proc/sys/kernel/domainname; echo sys=$?;"
                " head -c 1 /proc/kcore 2>/dev/null | wc -c; echo b > /proc/sysrq-trigger; echo sysrq=$?")
    lines = r.stdout.split()
    # init, sh and the pipeline's ls/grep/wc: nothing of the host
    assert int(lines[0]) <= 6, "only the sandbox's own processes are visible"
    # dash exits 2 when a redirection fails
    assert "sys=2" in r.stdout and "sysrq=2" in r.stdout
    assert lines[2] == "0"  # kcore reads nothing


def test_mounts_do_not_propagate_to_host(tmp_path):
    before = open("/proc/self/mountinfo").read()
    sandbox("true", opts=("--tmpfs", "/scratch"))
    assert open("/proc/self/mountinfo").read() == before


def busybox_image(tmp_path):
    image = tmp_path / "image"
    (image / "bin").mkdir(parents=True)
    shutil.copy(busybox(), image / "bin" / "busybox")
    os.symlink("busybox", image / "bin" / "sh")
    os.chmod(tmp_path, 0o755)
    return image


@pytest.mark.parametrize("walk", [False, True], ids=["openat2", "fallback-walk"])
def test_mount_targets_never_follow_symlinks_out(tmp_path, walk):
    """Symlinks in an image that point at host paths resolve inside the new root."""
    image = busybox_image(tmp_path)
    name = f"pgo-escape-{os.getpid()}-{int(walk)}"
    os.symlink("/tmp", image / "escape")                     # absolute
    os.symlink("../../../../../../../tmp", image / "escape2")  # relative climb
    opts = ["--image", str(image), "--tmpfs", f"/escape/{name}", "--tmpfs", f"/escape2/{name}b"]
    if walk:
        opts.append("--no-openat2")
    r = sandbox("/bin/sh", "-c", f"test -d /tmp/{name} && test -d /tmp/{name}b && echo inside",
                opts=opts)
    assert r.returncode == 0, r.stderr
    assert "inside" in r.stdout
    assert not os.path.exists(f"/tmp/{name}") and not os.path.exists(f"/tmp/{name}b")


@pytest.mark.parametrize("walk", [False, True], ids=["openat2", "fallback-walk"])
def test_mount_target_through_dangling_symlink_is_refused(tmp_path, walk):
    image = busybox_image(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    os.symlink(str(victim), image / "escape")
    opts = ["--image", str(image), "--tmpfs", "/escape/sub"] + (["--no-openat2"] if walk else [])
    r = sandbox("/bin/sh", "-c", "true", opts=opts)
    assert r.returncode == 125
    assert "/escape" in r.stderr
    assert list(victim.iterdir()) == []


def test_directory_image(tmp_path):
    image = busybox_image(tmp_path)
    r = sandbox("/bin/sh", "-c", "echo inside; test -e /usr/bin/gcc || echo no-host-usr",
                opts=("--image", str(image)))
    assert r.returncode == 0, r.stderr
    assert "no-host-usr" in r.stdout


# --- network and uts ------------------------------------------------------

def test_network_is_only_loopback_and_host_listener_unreachable():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        r = sandbox("python3", "-c",
                    "import socket,sys\n"
                    "print(sorted(open('/proc/net/dev').read().split()[i] for i in []))\n"
                    f"s=socket.socket(); s.settimeout(2)\n"
                    f"print('connect', s.connect_ex(('127.0.0.1', {port})))\n")
        assert r.returncode == 0, r.stderr
        assert "connect 111" in r.stdout  # ECONNREFUSED: nobody listens in here
        r = sandbox("cat", "/proc/net/dev")
        ifaces = [line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]]
        assert ifaces == ["lo"]
    finally:
        srv.close()


@pytest.mark.parametrize("opts", [(), ("--userns",)], ids=["default", "userns"])
def test_loopback_is_up_inside(opts):
    # As root the runner brings lo up in the namespace it makes, in a user
    # namespace the sandbox does: either way before the command starts.
    r = sandbox("python3", "-c",
                "import socket\n"
                "s=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
                "c=socket.create_connection(s.getsockname(), timeout=2)\n"
                "print('accepted', s.accept()[1][0])\n", opts=opts)
    assert r.returncode == 0, r.stderr
    assert "accepted 127.0.0.1" in r.stdout


@pytest.mark.parametrize("opts", [(), ("--userns",)], ids=["default", "userns"])
def test_sandbox_has_its_own_net_namespace(opts):
    # As root the runner makes the namespace (unshare, then setns back) and
    # hands it over; the sandbox must be in a new one and the runner itself
    # back in the host's while the command runs.  (Namespace inode numbers
    # are reused once freed, so two runs may well show the same one.)
    host = os.readlink("/proc/self/ns/net")
    p = subprocess.Popen([BINARY, "run", *opts, "--", "sh", "-c",
                          "readlink /proc/self/ns/net; exec sleep 5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        inside = p.stdout.readline().strip()
        assert inside.startswith("net:["), p.stderr.read() if p.poll() is not None else inside
        assert inside != host
        assert os.readlink(f"/proc/{p.pid}/ns/net") == host
    finally:
        p.kill()
        p.communicate()


def test_hostname():
    assert sandbox("hostname").stdout.strip() == "pgo-sandbox"
    assert sandbox("hostname", opts=("--hostname", "builder")).stdout.strip() == "builder"


# --- process lifetime -----------------------------------------------------

def processes_with(marker):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
        except OSError:
            continue
        # only the sleeps themselves, not the runner whose argv holds the marker
        if cmdline.startswith(b"sleep ") and marker.encode() in cmdline:
            found.append(int(pid))
    return found


def wait_until(predicate, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_timeout_kills_daemonised_and_stopped_grandchildren():
    marker = "1001.25"
    r = sandbox("sh", "-c", f"setsid sleep {marker} & sleep {marker} & kill -STOP $!;"
                f" sleep {marker}", opts=("--timeout", "1", "--kill-grace", "0.5"))
    assert r.returncode == 124
    assert "timeout" in r.stderr
    assert wait_until(lambda: processes_with(marker) == [], 3)


# With --userns the setup process changes its ids after the clone, which
# clears the parent-death signal; it must be armed again after that.
@pytest.mark.parametrize("opts,marker", [((), "1002.75"), (("--userns",), "1002.76")],
                         ids=["default", "userns"])
def test_sigkill_of_runner_leaves_no_process(opts, marker):
    p = subprocess.Popen([BINARY, "run", *opts, "--", "sh", "-c",
                          f"setsid sleep {marker} & sleep {marker}"])
    assert wait_until(lambda: len(processes_with(marker)) >= 2, 5)
    p.kill()
    p.wait()
    assert wait_until(lambda: processes_with(marker) == [], 5), processes_with(marker)


def test_sigterm_is_forwarded_to_the_command():
    p = subprocess.Popen([BINARY, "run", "--", "sh", "-c",
                          "trap 'echo got-term; exit 7' TERM; sleep 1003.5 & wait"],
                         stdout=subprocess.PIPE, text=True)
    assert wait_until(lambda: processes_with("1003.5") != [], 5)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    assert "got-term" in out
    assert p.returncode == 7


def test_init_reaps_orphaned_zombies():
    r = sandbox("sh", "-c", "sh -c 'true & true & exec sleep 0.3'; sleep 0.2;"
                " cat /proc/[0-9]*/stat 2>/dev/null | awk '{print $3}' | grep -c Z || true")
    assert r.stdout.strip() == "0"


# --- report ---------------------------------------------------------------

def test_report_json(tmp_path):
    os.chmod(tmp_path, 0o777)
    path = tmp_path / "report.json"
    r = sandbox("sh", "-c", "exit 5", opts=("--report", str(path)))
    assert r.returncode == 5
    doc = json.loads(path.read_text())
    assert doc["schema"] == "pgo-sandbox/run-report"
    assert doc["command"] == ["sh", "-c", "exit 5"]
    assert doc["outcome"]["exit_status"] == 5 and doc["outcome"]["exit_code"] == 5
    assert doc["resources"]["wall_s"] > 0
    for name in ("ns.mount", "ns.pid", "ns.net", "ns.uts", "ns.ipc", "ns.cgroup", "ns.user",
                 "seccomp", "capabilities", "no_new_privs", "mount.rootfs", "rlimits", "fds"):
        assert name in doc["controls"], name
        assert doc["controls"][name]["state"] in ("applied", "degraded", "unavailable")
    assert doc["controls"]["capabilities"]["state"] == "applied"


def test_report_on_signal_and_timeout(tmp_path):
    os.chmod(tmp_path, 0o777)
    path = tmp_path / "r.json"
    sandbox("sh", "-c", "kill -TERM $$", opts=("--report", str(path)))
    doc = json.loads(path.read_text())
    assert doc["outcome"]["signal"] == 15 and doc["outcome"]["signal_name"] == "TERM"
    sandbox("sleep", "30", opts=("--report", str(path), "--timeout", "0.3"))
    doc = json.loads(path.read_text())
    assert doc["outcome"]["timed_out"] is True and doc["outcome"]["exit_code"] == 124


def test_rlimits_and_core_zero():
    r = sandbox("sh", "-c", "ulimit -c; ulimit -n", opts=("--rlimit", "nofile=64"))
    assert r.stdout.split() == ["0", "64"]


def test_report_keeps_a_non_utf8_argument(tmp_path):
    out = tmp_path / "r.json"
    r = subprocess.run([BINARY.encode(), b"run", b"--report", str(out).encode(), b"--", b"echo",
                        b"one", b"a\xe9b", b"three"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"one a\xe9b three\n"
    doc = json.loads(out.read_text())
    assert doc["command"] == ["echo", "one", "a\ufffdb", "three"]
    assert [base64.b64decode(a) for a in doc["command_b64"]] == [b"echo", b"one", b"a\xe9b",
                                                                 b"three"]
    r = run("run", "--report", str(out), "--", "echo", "plain")
    assert "command_b64" not in json.loads(out.read_text())


def test_relative_command_not_found_says_the_directory_is_not_bound(tmp_path):
    os.chmod(tmp_path, 0o755)
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    r = run("run", "--", "./hello.sh", cwd=str(tmp_path))
    assert r.returncode == 127
    assert "executing ./hello.sh: No such file or directory" in r.stderr
    assert "the current directory is not in the sandbox" in r.stderr
    assert '--ro-bind "$PWD" /work --chdir /work' in r.stderr
    # the hint's binding works
    r = run("run", "--ro-bind", str(tmp_path), "/work", "--chdir", "/work", "--", "./hello.sh")
    assert r.returncode == 0 and r.stdout == "hello\n", r.stderr
    # a bare name not found on PATH gets no such hint
    r = run("run", "--", "no-such-command-here")
    assert r.returncode == 127 and "current directory" not in r.stderr


def test_short_version_flag():
    r = run("-V")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("pgo-sandbox ") and r.stdout == run("--version").stdout


def test_unpack_of_a_missing_or_broken_tarball_creates_nothing(tmp_path):
    dest = tmp_path / "dest"
    r = run("unpack", str(tmp_path / "missing.tar.zst"), str(dest))
    assert r.returncode == 125 and "missing.tar.zst" in r.stderr
    assert not dest.exists()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    r = run("unpack", str(broken), str(dest))
    assert r.returncode == 125
    assert not dest.exists()
    # an existing DIR is the caller's: left in place
    dest.mkdir()
    (dest / "keep").write_text("x")
    assert run("unpack", str(broken), str(dest)).returncode == 125
    assert (dest / "keep").read_text() == "x"


def tour_commands():
    """The README's short tour, one shell command a line (comments dropped)."""
    text = open(os.path.join(ROOT, "README.md")).read()
    block = text.split("## A short tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [l.split("  #")[0].strip() for l in block.splitlines()]
    return [l for l in lines if l and not l.startswith("#")]


@root_only
def test_readme_tour_works_as_written(tmp_path):
    """Every tour line, from a copy of the repository's fixtures, with the
    binary under test; `host restore` is left out (it acts on this host's
    real tuning state, which other runs share)."""
    os.chmod(tmp_path, 0o755)
    shutil.copytree(os.path.join(ROOT, "fixtures", "minilang"), tmp_path / "fixtures" / "minilang")
    (tmp_path / "build").mkdir()
    os.symlink(BINARY, tmp_path / "build" / "pgo-sandbox")
    commands = tour_commands()
    assert len(commands) >= 6
    for command in commands:
        if "host restore" in command:
            continue
        r = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, f"{command}\n{r.stdout}\n{r.stderr}"
    assert (tmp_path / "out2" / "minilang").exists()
