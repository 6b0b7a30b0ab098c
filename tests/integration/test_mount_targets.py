"""`run`'s mount targets end to end: a target that does not say plainly where
it goes is refused before the command starts (sandbox/mount_plan.c; the
plan itself is unit-tested in tests/unit/test_mount_plan.c)."""
import pytest

from conftest import sandbox


@pytest.mark.parametrize("target,why", [
    ("/a/../out", "may not have a '..' component"),
    ("/out/.", "may not have a '.' component"),
    ("/", "the sandbox's root is the image's: mount below it"),
])
def test_hostile_target_is_refused_before_the_command(tmp_path, target, why):
    marker = tmp_path / "ran"
    tmp_path.chmod(0o777)
    r = sandbox("sh", "-c", "touch /w/ran", opts=("--bind", str(tmp_path), "/w",
                                                    "--bind", str(tmp_path), target))
    assert r.returncode == 125, r.stderr
    assert f"--bind {target}: " in r.stderr
    assert why in r.stderr
    assert not marker.exists()


def test_nested_targets_are_mounted_in_order(tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    outer.mkdir()
    inner.mkdir()
    (outer / "o").write_text("outer\n")
    (outer / "in").mkdir()  # the mount point: /x is read-only
    (inner / "i").write_text("inner\n")
    r = sandbox("sh", "-c", "cat /x/o /x/in/i",
                opts=("--ro-bind", str(outer), "/x", "--ro-bind", str(inner), "/x/in"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "outer\ninner\n"
