"""Controls beyond the basics: seccomp inside the real sandbox, --strict,
tarball images, host tuning against a fake sysfs, doctor."""
import json
import os
import subprocess
import tarfile
import time

import pytest

from conftest import BINARY, PROBES, ROOTLESS, busybox, probe, root_only, run, sandbox


def probe_results(stdout):
    results = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("status:"):
            results[parts[0]] = (parts[1], parts[2])
    return results


def host_offers_i386_abi():
    """Whether `int $0x80` works on the host at all: without IA32 emulation
    (or under some hypervisors) it faults before seccomp could see it, so
    there is no i386 table to bypass the filter through."""
    r = subprocess.run([probe("seccomp_probe"), "--only", "i386:getpid"],
                       capture_output=True, text=True, timeout=30)
    return probe_results(r.stdout).get("i386:getpid", ("", ""))[1] == "ok"


def test_seccomp_denies_every_listed_call_inside_the_sandbox(probe_dir_ro):
    probe("seccomp_probe")
    i386 = host_offers_i386_abi()
    r = sandbox("/probes/seccomp_probe", opts=probe_dir_ro)
    assert r.returncode == 0, r.stderr
    results = probe_results(r.stdout)
    denied = [name for name in results if not name.startswith("control:")]
    assert len(denied) >= 40, r.stdout
    for name, (rc, err) in results.items():
        if name.startswith("control:"):
            # allowed calls keep working (TCGETS on a non-tty fails EBADF/ENOTTY, not EPERM)
            assert err != "EPERM", f"{name} was refused"
            continue
        if name.startswith("i386:") and not i386:
            assert err == "SIGSEGV", f"{name}: {rc} {err}"
            continue
        expected = "ENOSYS" if name == "clone3" else "EPERM"
        assert err == expected, f"{name}: {rc} {err}"
    for must in ("ioctl:TIOCSTI", "ioctl:TIOCSTI|1<<32", "ioctl:TIOCLINUX", "i386:", "x32:getpid",
                 "mount", "unshare", "bpf", "keyctl", "userfaultfd", "perf_event_open",
                 "ptrace"):
        assert any(n.startswith(must) for n in results), f"probe did not try {must}"


def test_seccomp_log_mode_and_allow_perf(probe_dir_ro):
    r = sandbox("/probes/seccomp_probe", opts=probe_dir_ro + ("--allow-perf",))
    results = probe_results(r.stdout)
    perf = [v for k, v in results.items() if k.startswith("perf_event_open")]
    assert perf and all(err != "EPERM" for _, err in perf)


def test_setup_process_is_not_inspectable():
    r = sandbox("sh", "-c", "cat /proc/1/environ >/dev/null 2>&1; echo environ=$?;"
                " cat /proc/1/maps >/dev/null 2>&1; echo maps=$?")
    assert "environ=1" in r.stdout and "maps=1" in r.stdout
    assert "Seccomp:\t2" in sandbox("cat", "/proc/self/status").stdout


def test_strict_refuses_to_start_when_a_control_is_degraded(tmp_path):
    marker = tmp_path / "ran"
    os.chmod(tmp_path, 0o777)
    # no cpuset controller in this host's cgroup2 (or no cgroup at all when
    # rootless): pinning degrades to sched_setaffinity, which --strict refuses
    r = sandbox("sh", "-c", f"touch {marker}", opts=("--cpus", "0", "--strict",
                                                     "--bind", str(tmp_path), str(tmp_path)))
    if r.returncode == 0:
        pytest.skip("this host has a delegated cpuset controller: nothing degrades")
    assert r.returncode == 125
    assert "--strict" in r.stderr and "cgroup" in r.stderr
    assert not marker.exists()


def online_cpus():
    cpus = set()
    for part in open("/sys/devices/system/cpu/online").read().strip().split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def test_cpus_not_online_is_a_usage_error_naming_the_online_set(tmp_path):
    offline = max(online_cpus()) + 1
    online_text = open("/sys/devices/system/cpu/online").read().strip()
    r = sandbox("true", opts=("--cpus", str(offline), "--report", str(tmp_path / "r.json")))
    assert r.returncode == 125, r.stderr
    assert f"--cpus {offline}: CPU {offline} not online" in r.stderr
    assert f"(online CPUs: {online_text})" in r.stderr
    # the bench refuses before its first run: no result records the request
    out = tmp_path / "b.json"
    r = run("bench", "--runs", "2", "--cpus", str(offline), "--json", str(out), "--", "true")
    assert r.returncode == 125, r.stderr
    assert f"online CPUs: {online_text}" in r.stderr
    assert not out.exists()


def test_requested_limits_not_applied_are_said_on_stderr_without_strict(tmp_path):
    opts = ("--cpus", "0", "--memory", "64M", "--pids", "64", "--report", str(tmp_path / "r.json"))
    r = sandbox("true", opts=opts)
    assert r.returncode == 0, r.stderr
    controls = json.loads((tmp_path / "r.json").read_text())["controls"]
    for option, control in (("--cpus", "cgroup.cpuset"), ("--memory", "cgroup.memory"),
                            ("--pids", "cgroup.pids")):
        state = controls[control]["state"]
        lines = [l for l in r.stderr.splitlines() if l.startswith(f"pgo-sandbox: warning: {option} ")]
        if state == "applied":
            assert lines == [], r.stderr
        else:
            assert lines == [f"pgo-sandbox: warning: {option} was asked for but is {state}: "
                             f"{controls[control]['detail']}"], r.stderr
    # unasked, nothing is said
    r = sandbox("true")
    assert "warning" not in r.stderr, r.stderr


def test_no_turbo_unavailable_is_said_on_stderr(tmp_path):
    empty = tmp_path / "empty-sysfs"
    empty.mkdir()
    os.chmod(tmp_path, 0o755)
    r = sandbox("true", opts=("--sysfs-root", str(empty), "--state-dir", str(tmp_path / "st"),
                              "--no-turbo"))
    assert r.returncode == 0, r.stderr
    assert "pgo-sandbox: warning: --no-turbo was asked for but is unavailable" in r.stderr


def test_tarball_image(tmp_path):
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "busybox").write_bytes(open(busybox(), "rb").read())
    os.chmod(tree / "bin" / "busybox", 0o755)
    os.symlink("busybox", tree / "bin" / "sh")
    (tree / "hello").write_text("from the image\n")
    image = tmp_path / "image.tar.gz"
    with tarfile.open(image, "w:gz") as tar:
        tar.add(tree / "bin", arcname="bin")
        tar.add(tree / "hello", arcname="hello")
    os.chmod(tmp_path, 0o755)
    r = sandbox("/bin/sh", "-c", "cat /hello", opts=("--image", str(image)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from the image\n"
    leftovers = [d for d in os.listdir("/var/tmp") if d.startswith("pgo-sandbox-image.")]
    assert leftovers == [] or ROOTLESS


def test_tarball_image_keeps_absolute_links_and_drops_setuid(tmp_path):
    """A distro rootfs has absolute symlinks and setuid binaries: as an image
    the links resolve inside the sandbox root and the setuid bits go."""
    image = tmp_path / "rootfs.tar"
    with tarfile.open(image, "w") as tar:
        tar.add(busybox(), arcname="bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "/bin/busybox"   # absolute
        tar.addfile(link)
        suid = tarfile.TarInfo("bin/suid-tool")
        suid.mode, suid.size = 0o4755, 0
        tar.addfile(suid)
    os.chmod(tmp_path, 0o755)
    r = sandbox("/bin/sh", "-c", "stat -c %a /bin/suid-tool", opts=("--image", str(image)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "755"


def test_hostile_tarball_image_is_refused(tmp_path):
    image = tmp_path / "evil.tar"
    with tarfile.open(image, "w") as tar:
        info = tarfile.TarInfo("../../escape")
        info.size = 0
        tar.addfile(info)
    os.chmod(tmp_path, 0o755)
    r = sandbox("/bin/true", opts=("--image", str(image)))
    assert r.returncode == 125
    assert "../../escape" in r.stderr


def fake_sysfs(root):
    cpu = root / "sys/devices/system/cpu"
    (cpu / "intel_pstate").mkdir(parents=True)
    (cpu / "intel_pstate" / "no_turbo").write_text("0\n")
    for n in (0, 1):
        pol = cpu / "cpufreq" / f"policy{n}"
        pol.mkdir(parents=True)
        (pol / "scaling_governor").write_text("powersave\n")
        (pol / "scaling_available_governors").write_text("performance powersave\n")
        (pol / "related_cpus").write_text(f"{n}\n")
        (pol / "affected_cpus").write_text(f"{n}\n")
    return cpu


@root_only
def test_turbo_and_governor_applied_for_the_run_and_restored(tmp_path):
    cpu = fake_sysfs(tmp_path / "sysroot")
    state = tmp_path / "state"
    r = subprocess.run([BINARY, "run", "--sysfs-root", str(tmp_path / "sysroot"),
                        "--state-dir", str(state), "--no-turbo", "--governor", "performance",
                        "--report", str(tmp_path / "r.json"), "--ro-bind",
                        str(tmp_path / "sysroot"), "/fake", "--",
                        "sh", "-c", "cat /fake/sys/devices/system/cpu/intel_pstate/no_turbo"
                        " /fake/sys/devices/system/cpu/cpufreq/policy0/scaling_governor"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "performance"]          # during the run
    assert (cpu / "intel_pstate/no_turbo").read_text().strip() == "0"   # after
    assert (cpu / "cpufreq/policy0/scaling_governor").read_text().strip() == "powersave"
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["controls"]["host.turbo"]["state"] == "applied"
    assert doc["controls"]["host.governor"]["state"] == "applied"


@root_only
def test_host_settings_restored_after_runner_sigkill(tmp_path):
    cpu = fake_sysfs(tmp_path / "sysroot")
    state = tmp_path / "state"
    args = ["--sysfs-root", str(tmp_path / "sysroot"), "--state-dir", str(state)]
    p = subprocess.Popen([BINARY, "run", *args, "--no-turbo", "--", "sleep", "1004.5"])
    deadline = time.monotonic() + 5
    while (cpu / "intel_pstate/no_turbo").read_text().strip() != "1":
        assert time.monotonic() < deadline, "turbo was never turned off"
        time.sleep(0.05)
    p.kill()
    p.wait()
    assert (cpu / "intel_pstate/no_turbo").read_text().strip() == "1"  # nobody restored yet
    r = run("host", "restore", *args)
    assert r.returncode == 0, r.stderr
    assert (cpu / "intel_pstate/no_turbo").read_text().strip() == "0"


def test_turbo_unavailable_is_reported_and_strict_refuses(tmp_path):
    empty = tmp_path / "empty-sysfs"
    empty.mkdir()
    os.chmod(tmp_path, 0o755)
    opts = ("--sysfs-root", str(empty), "--state-dir", str(tmp_path / "st"), "--no-turbo")
    r = sandbox("true", opts=opts + ("--report", str(tmp_path / "r.json")))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["controls"]["host.turbo"]["state"] == "unavailable"
    r = sandbox("true", opts=opts + ("--strict",))
    assert r.returncode == 125 and "--strict" in r.stderr
    # rootless runs have no cgroup either; strict stops at the first gap
    assert "host.turbo" in r.stderr or (ROOTLESS and "cgroup" in r.stderr)


def test_doctor_json_and_text():
    r = run("doctor", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    names = {c["name"] for c in doc["checks"]}
    assert any("cgroup" in n for n in names)
    assert any("turbo" in n for n in names)
    assert all(c["status"] in ("ok", "missing", "degraded") for c in doc["checks"])
    r = run("doctor")
    assert r.returncode == 0 and "cgroup" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no colour


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("pgo-sandbox ")
