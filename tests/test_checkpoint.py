"""The checkpoint file: round trips, literal good and bad files, atomic replace, modes, cleanup."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import types
from pathlib import Path
from typing import Any

import pytest

from pinlet.server.checkpoint import CheckpointStore
from pinlet.server.errors import (
    CheckpointError,
    CheckpointVersionError,
    CorruptCheckpointError,
    PinletError,
)

# sha256 of the canonical JSON of the data next to it, worked out once by hand
# (printf '%s' '{"pod-1":{"cpus":"4-7"}}' | sha256sum), not by the code under test.
POD_SUM = "sha256:9f68bd771678740638bd8b3952cc6505b9c9a8e6b51e90c41650c04d00cb3def"
POD_DATA = '{"pod-1":{"cpus":"4-7"}}'
EMPTY_SUM = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # {}
LIST_SUM = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"  # []
GOOD = f'{{"version":1,"checksum":"{POD_SUM}","data":{POD_DATA}}}\n'

STATE: dict[str, Any] = {
    "6f1c2a9e-0d1b-4c55-9a7e-3f0e8b6d2c11": {
        "name": "web-0",
        "namespace": "prod",
        "containers": {
            "app": {"cpus": "4-7", "mems": "0", "init": False, "weight": 1.5},
            "sidecar": {"cpus": "", "mems": "0-1", "init": True, "weight": None},
        },
    },
    "ünïcode-pod": {"name": "café", "namespace": "日本", "containers": {}},
    "empty": {"list": [], "dict": {}, "big": 2**62, "neg": -3},
}


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "pinlet_state"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def test_round_trip(tmp_path: Path) -> None:
    """What save wrote, load returns, equal and with the same types."""
    store = CheckpointStore(tmp_path)
    store.save(STATE)
    assert store.load() == STATE


def test_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    """No checkpoint, or not even the state directory, loads as None."""
    assert CheckpointStore(tmp_path).load() is None
    assert CheckpointStore(tmp_path / "not" / "there").load() is None


def test_save_replaces_the_previous_checkpoint(tmp_path: Path) -> None:
    """A second save wins and leaves no temporary files."""
    store = CheckpointStore(tmp_path)
    store.save({"a": 1})
    store.save({"b": 2})
    assert store.load() == {"b": 2}
    assert leftovers(tmp_path) == []


def test_file_format(tmp_path: Path) -> None:
    """The file is the version-1 envelope and its checksum is sha256 of canonical data."""
    store = CheckpointStore(tmp_path)
    store.save(STATE)
    doc = json.loads(store.path.read_text(encoding="utf-8"))
    canonical = json.dumps(STATE, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert doc == {
        "version": 1,
        "checksum": "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        "data": STATE,
    }


def test_literal_file_is_what_save_writes(tmp_path: Path) -> None:
    """Saving the literal's data writes the literal, byte for byte."""
    store = CheckpointStore(tmp_path)
    store.save({"pod-1": {"cpus": "4-7"}})
    assert store.path.read_text(encoding="utf-8") == GOOD


def test_other_mappings_are_saved(tmp_path: Path) -> None:
    """Any Mapping can be saved, not only a dict."""
    store = CheckpointStore(tmp_path)
    store.save(types.MappingProxyType({"pod-1": {"cpus": "4-7"}}))
    assert store.load() == {"pod-1": {"cpus": "4-7"}}


def test_second_store_reads_what_the_first_wrote(tmp_path: Path) -> None:
    """A new store on the same directory (a restarted pinlet) restores the state."""
    CheckpointStore(tmp_path).save(STATE)
    assert CheckpointStore(tmp_path).load() == STATE


def test_custom_filename(tmp_path: Path) -> None:
    """The file name is a parameter; the default is pinlet_state."""
    store = CheckpointStore(tmp_path, filename="cpu_state")
    store.save({"a": 1})
    assert store.path == tmp_path / "cpu_state"
    assert CheckpointStore(tmp_path).path == tmp_path / "pinlet_state"
    assert CheckpointStore(tmp_path, filename="cpu_state").load() == {"a": 1}


@pytest.mark.parametrize("filename", ["", ".", "..", "a/b", "/abs"])
def test_filename_must_be_a_plain_name(tmp_path: Path, filename: str) -> None:
    """A file name that would leave the state directory is refused."""
    with pytest.raises(ValueError, match="plain file name"):
        CheckpointStore(tmp_path, filename=filename)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(GOOD, id="as-saved"),
        pytest.param(GOOD.rstrip("\n"), id="no-trailing-newline"),
        pytest.param(
            f'{{"data":{POD_DATA},"checksum":"{POD_SUM}","version":1}}', id="keys-reordered"
        ),
        pytest.param(
            "{\n"
            '  "version": 1,\n'
            f'  "checksum": "{POD_SUM}",\n'
            '  "data": {\n'
            '    "pod-1": {\n'
            '      "cpus": "4-7"\n'
            "    }\n"
            "  }\n"
            "}\n",
            id="reformatted-by-jq",
        ),
    ],
)
def test_good_literal_files_load(tmp_path: Path, content: str) -> None:
    """Any JSON rendering of a valid envelope loads; only the value of data is hashed."""
    write(tmp_path, content)
    assert CheckpointStore(tmp_path).load() == {"pod-1": {"cpus": "4-7"}}


def test_empty_data_loads(tmp_path: Path) -> None:
    """A checkpoint of an empty state is valid."""
    write(tmp_path, f'{{"version":1,"checksum":"{EMPTY_SUM}","data":{{}}}}\n')
    assert CheckpointStore(tmp_path).load() == {}


# (file content, expected reason); a reason ending in "…" is a prefix, the rest is the
# json module's own description of the error.
CORRUPT = [
    pytest.param(b"", "empty file", id="empty"),
    pytest.param(b"\xff\xfe{}", "not valid UTF-8 at byte 0", id="not-utf8"),
    pytest.param(GOOD.encode("utf-16"), "not valid UTF-8 at byte 0", id="utf16"),
    pytest.param(b"\xef\xbb\xbf" + GOOD.encode(), "not valid JSON: …", id="utf8-bom"),
    pytest.param("hello", "not valid JSON: …", id="not-json"),
    pytest.param("   \n", "not valid JSON: …", id="whitespace-only"),
    pytest.param(GOOD[:30], "not valid JSON: …", id="truncated-in-checksum"),
    pytest.param(GOOD[:-4], "not valid JSON: …", id="truncated-in-data"),
    pytest.param(GOOD + GOOD, "not valid JSON: …", id="two-documents"),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM}","data":{{"x":NaN}}}}',
        "not valid JSON: …",
        id="nan-in-data",
    ),
    pytest.param("[1, 2]", "not a JSON object", id="array"),
    pytest.param("null", "not a JSON object", id="null"),
    pytest.param('"pinlet"', "not a JSON object", id="string"),
    pytest.param(
        f'{{"checksum":"{POD_SUM}","data":{POD_DATA}}}',
        'missing top-level keys: "version"',
        id="missing-version",
    ),
    pytest.param(
        f'{{"version":1,"data":{POD_DATA}}}',
        'missing top-level keys: "checksum"',
        id="missing-checksum",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM}"}}', 'missing top-level keys: "data"', id="no-data"
    ),
    pytest.param(
        '{"policyName":"static","defaultCpuSet":"0-1","entries":{"pod":{"app":"2-3"}},'
        '"checksum":3610638499}',
        'missing top-level keys: "data", "version"',
        id="kubelet-cpu-manager-state",
    ),
    pytest.param(
        f'{{"version":1,"policy":"static","checksum":"{POD_SUM}","data":{POD_DATA}}}',
        'unexpected top-level keys: "policy"',
        id="extra-key",
    ),
    pytest.param(
        f'{{"version":"1","checksum":"{POD_SUM}","data":{POD_DATA}}}',
        "version is not an integer",
        id="version-string",
    ),
    pytest.param(
        f'{{"version":1.0,"checksum":"{POD_SUM}","data":{POD_DATA}}}',
        "version is not an integer",
        id="version-float",
    ),
    pytest.param(
        f'{{"version":true,"checksum":"{POD_SUM}","data":{POD_DATA}}}',
        "version is not an integer",
        id="version-bool",
    ),
    pytest.param(
        f'{{"version":null,"checksum":"{POD_SUM}","data":{POD_DATA}}}',
        "version is not an integer",
        id="version-null",
    ),
    pytest.param(
        f'{{"version":1,"checksum":3610638499,"data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-integer",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"","data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-empty",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM[7:]}","data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-no-algorithm",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"md5:{POD_SUM[7:39]}","data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-other-algorithm",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM[:-1]}","data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-short",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"sha256:{POD_SUM[7:].upper()}","data":{POD_DATA}}}',
        'malformed checksum (expected "sha256:" and 64 lowercase hex digits)',
        id="checksum-uppercase",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM}","data":{{"pod-1":{{"cpus":"4-8"}}}}}}\n',
        "checksum mismatch",
        id="data-changed",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{EMPTY_SUM}","data":{POD_DATA}}}\n',
        "checksum mismatch",
        id="checksum-of-other-data",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM}","data":{{"pod-1":{{"cpus":"4-7"}},"x":1}}}}',
        "checksum mismatch",
        id="data-entry-added-reformatted",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{LIST_SUM}","data":[]}}\n',
        "data is not a JSON object",
        id="data-array",
    ),
    pytest.param(
        f'{{"version":1,"checksum":"{POD_SUM}","data":null}}\n',
        "data is not a JSON object",
        id="data-null",
    ),
]


@pytest.mark.parametrize(("content", "reason"), CORRUPT)
def test_corrupt_files_are_refused(tmp_path: Path, content: str | bytes, reason: str) -> None:
    """Every kind of damage is a CorruptCheckpointError naming the file and what is wrong."""
    path = write(tmp_path, content)
    with pytest.raises(CorruptCheckpointError) as info:
        CheckpointStore(tmp_path).load()
    assert info.value.path == str(path)
    if reason.endswith("…"):
        assert info.value.reason.startswith(reason[:-1])
    else:
        assert info.value.reason == reason


def test_corrupt_error_tells_the_operator_which_file(tmp_path: Path) -> None:
    """The message names the file to delete, and the error is a CheckpointError."""
    path = write(tmp_path, "{")
    with pytest.raises(CheckpointError) as info:
        CheckpointStore(tmp_path).load()
    assert isinstance(info.value, PinletError)
    assert f'"{path}"' in str(info.value)


@pytest.mark.parametrize(
    ("content", "version"),
    [
        pytest.param(
            f'{{"version":2,"checksum":"{POD_SUM}","data":{POD_DATA}}}', 2, id="version-2"
        ),
        pytest.param(
            f'{{"version":0,"checksum":"{POD_SUM}","data":{POD_DATA}}}', 0, id="version-0"
        ),
        pytest.param('{"version":-1}', -1, id="negative"),
        # A future format may change the envelope; it is still "too new", not "corrupt".
        pytest.param(
            '{"version":3,"policy":"static","checksum":{"fnv":1},"payload":"..."}',
            3,
            id="future-envelope",
        ),
    ],
)
def test_other_versions_are_refused(tmp_path: Path, content: str, version: int) -> None:
    """A version this build does not read is a CheckpointVersionError, not corruption."""
    path = write(tmp_path, content)
    with pytest.raises(CheckpointVersionError) as info:
        CheckpointStore(tmp_path).load()
    assert not isinstance(info.value, CorruptCheckpointError)
    assert info.value.path == str(path)
    assert info.value.version == version
    assert info.value.supported == (1,)


def test_unreadable_checkpoint_is_not_called_corrupt(tmp_path: Path) -> None:
    """A checkpoint path that cannot be read is a CheckpointError, not a corrupt file."""
    (tmp_path / "pinlet_state").mkdir()
    with pytest.raises(CheckpointError) as info:
        CheckpointStore(tmp_path).load()
    assert not isinstance(info.value, CorruptCheckpointError)
    assert info.value.path == str(tmp_path / "pinlet_state")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"pod": {"cpus": {4, 5}}}, id="set"),
        pytest.param({"pod": {"weight": float("nan")}}, id="nan"),
        pytest.param({"pod": {"name": "\ud800"}}, id="lone-surrogate"),
        pytest.param({"pod": object()}, id="object"),
        pytest.param({"a": 1, 2: 3}, id="mixed-key-types"),
    ],
)
def test_failed_save_keeps_the_old_checkpoint(tmp_path: Path, bad: dict[Any, Any]) -> None:
    """State that cannot be written raises CheckpointError; the old file and no temp remain."""
    store = CheckpointStore(tmp_path)
    store.save(STATE)
    before = store.path.read_bytes()
    with pytest.raises(CheckpointError) as info:
        store.save(bad)
    assert info.value.path == str(store.path)
    assert store.path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert store.load() == STATE


def test_cyclic_state_is_refused(tmp_path: Path) -> None:
    """A cycle in the state is a CheckpointError, not a crash."""
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    store = CheckpointStore(tmp_path)
    with pytest.raises(CheckpointError):
        store.save(cyclic)
    assert not store.path.exists()
    assert leftovers(tmp_path) == []


def test_failed_rename_removes_the_temp_file(tmp_path: Path) -> None:
    """An OS error after the temp file is written is a CheckpointError and cleans up."""
    # A non-empty directory under the checkpoint's name makes os.replace fail, even as root.
    (tmp_path / "pinlet_state").mkdir()
    (tmp_path / "pinlet_state" / "keep").write_text("x")
    store = CheckpointStore(tmp_path)
    with pytest.raises(CheckpointError) as info:
        store.save(STATE)
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.path == str(store.path)
    assert leftovers(tmp_path) == []
    assert (tmp_path / "pinlet_state" / "keep").read_text() == "x"


def test_state_dir_that_is_a_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    """A state directory path occupied by a file fails the save with CheckpointError."""
    (tmp_path / "state").write_text("not a directory")
    with pytest.raises(CheckpointError):
        CheckpointStore(tmp_path / "state").save(STATE)


def test_modes(tmp_path: Path) -> None:
    """A missing state directory is created 0700 (parents too) and the file is 0600."""
    state_dir = tmp_path / "var" / "lib" / "pinlet"
    store = CheckpointStore(state_dir)
    store.save(STATE)
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load() == STATE


def test_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    """Even under a umask that strips owner bits, the modes are exactly 0700 and 0600."""
    old = os.umask(0o277)
    try:
        store = CheckpointStore(tmp_path / "pinlet")
        store.save(STATE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "pinlet").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_existing_state_dir_keeps_its_mode(tmp_path: Path) -> None:
    """The mode of a state directory the operator made is left alone."""
    state_dir = tmp_path / "pinlet"
    state_dir.mkdir()
    state_dir.chmod(0o750)
    CheckpointStore(state_dir).save(STATE)
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o750


def test_temp_leftovers_are_removed_on_load(tmp_path: Path) -> None:
    """Load deletes only files matching the temp pattern of its own checkpoint."""
    CheckpointStore(tmp_path).save(STATE)
    for name in (".pinlet_state.tmp-abc123_9", ".pinlet_state.tmp-zz"):
        (tmp_path / name).write_text('{"version":1')
    keep = [
        "notes.txt",
        "pinlet_state.bak",
        ".pinlet_state.tmp-",  # no random part: not one of mkstemp's
        ".pinlet_state.tmp-X.bak",
        ".other_state.tmp-abc123",
    ]
    for name in keep:
        (tmp_path / name).write_text("keep")
    (tmp_path / ".pinlet_state.tmp-dir").mkdir()

    assert CheckpointStore(tmp_path).load() == STATE
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([*keep, ".pinlet_state.tmp-dir", "pinlet_state"])


def test_temp_leftovers_are_removed_without_a_checkpoint(tmp_path: Path) -> None:
    """A crash before the first rename leaves a temp file; load cleans it and starts fresh."""
    (tmp_path / ".pinlet_state.tmp-q1w2e3r4").write_text(GOOD)
    assert CheckpointStore(tmp_path).load() is None
    assert leftovers(tmp_path) == []


def test_crash_between_write_and_rename(tmp_path: Path) -> None:
    """With a complete temp file next to a good checkpoint, load returns the good one."""
    store = CheckpointStore(tmp_path)
    store.save(STATE)
    # What a crash after fsync(temp) and before os.replace leaves: a complete, valid newer
    # file under the temp name. It was never committed, so it must not be restored.
    (tmp_path / ".pinlet_state.tmp-k9x_2mzp").write_text(GOOD)
    assert CheckpointStore(tmp_path).load() == STATE
    assert leftovers(tmp_path) == []


def test_remove(tmp_path: Path) -> None:
    """remove deletes the checkpoint; removing a missing one is fine; load then starts fresh."""
    store = CheckpointStore(tmp_path)
    store.save(STATE)
    store.remove()
    assert not store.path.exists()
    store.remove()
    CheckpointStore(tmp_path / "never-created").remove()
    assert store.load() is None
