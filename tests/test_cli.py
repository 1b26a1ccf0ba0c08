"""The pinlet command line: topology and describe, machine selection, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pinlet.server.cli import COMMANDS, main
from pinlet.server.machine import dump, load, loads
from pinlet.server.report import render
from pinlet.server.sysfs import discover

FIXTURES = Path(__file__).parent / "fixtures"
SNC2_TREE = str(FIXTURES / "sysfs" / "dual-socket-snc2")
SNC2_FILE = str(FIXTURES / "machines" / "dual-socket-snc2.yaml")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--sysfs-root", SNC2_TREE, "topology"], id="option-first"),
        pytest.param(["topology", "--sysfs-root", SNC2_TREE], id="option-after-command"),
    ],
)
def test_topology_from_sysfs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """'topology' prints the report of the sysfs tree, wherever the option is placed."""
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (render(discover(SNC2_TREE)), "")


def test_topology_from_description(capsys: pytest.CaptureFixture[str]) -> None:
    """'--machine FILE topology' reports the described machine, name included."""
    assert main(["--machine", SNC2_FILE, "topology"]) == 0
    out = capsys.readouterr().out
    assert out == render(load(SNC2_FILE))
    assert out.startswith("dual-socket-snc2: 32 CPUs")


def test_describe_normalises_a_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """'describe --machine' prints the explicit form of a shape description."""
    assert main(["describe", "--machine", SNC2_FILE]) == 0
    out = capsys.readouterr().out
    assert out == dump(load(SNC2_FILE))
    assert "cores:" in out
    assert "shape:" not in out


def test_describe_sysfs_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    """'describe' of a sysfs tree loads back as the discovered topology."""
    assert main(["describe", "--sysfs-root", SNC2_TREE]) == 0
    assert loads(capsys.readouterr().out) == discover(SNC2_TREE)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["topology", "--sysfs-root", "/nonexistent/sys"], id="missing-sysfs"),
        pytest.param(["describe", "--machine", "/nonexistent.yaml"], id="missing-file"),
        pytest.param(
            ["topology", "--machine", SNC2_FILE, "--sysfs-root", SNC2_TREE], id="both-sources"
        ),
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["topology", "--bogus"], id="unknown-option"),
    ],
)
def test_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Failures print 'pinlet: error: ...' on stderr, nothing on stdout, and return 2."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].startswith("pinlet: error: ")


def test_bad_description_error_names_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken description's error message names the file and the key."""
    path = tmp_path / "m.yaml"
    path.write_text("pinlet-machine: 1\nshape: {sockets: 0, cores_per_socket: 1}\n")
    assert main(["topology", "--machine", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"pinlet: error: {path}: shape.sockets: must be at least 1\n"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and names every registered subcommand."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_console_script_runs_as_a_process() -> None:
    """The installed 'pinlet' script reports the 384-CPU fixture tree."""
    script = Path(sys.executable).parent / "pinlet"
    if not script.exists():
        pytest.skip("the pinlet console script is not installed next to this Python")
    tree = FIXTURES / "sysfs" / "nps4-384"
    done = subprocess.run(
        [str(script), "topology", "--sysfs-root", str(tree)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == render(discover(tree))
