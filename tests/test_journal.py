"""The write-ahead journal: replay, torn appends, stale generations, compaction, damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinlet.server.errors import CorruptCheckpointError
from pinlet.server.journal import DELETE, JournaledStore, apply_ops

BASE = {"cpu": {"defaultCpuSet": "0-7", "entries": {}}, "pods": {}}


def test_updates_replay_over_the_snapshot(tmp_path: Path) -> None:
    """Sets and deletes appended after a snapshot come back on load, in order."""
    store = JournaledStore(tmp_path)
    store.save(BASE)
    store.update([(("pods", "a"), {"n": 1}), (("cpu", "defaultCpuSet"), "0-3")], dict)
    store.update([(("pods", "b"), {"n": 2})], dict)
    store.update([(("pods", "a"), DELETE)], dict)
    store.close()
    data = JournaledStore(tmp_path).load()
    assert data == {
        "cpu": {"defaultCpuSet": "0-3", "entries": {}},
        "pods": {"b": {"n": 2}},
        "generation": 1,
    }


def test_torn_last_line_is_dropped_and_cut(tmp_path: Path) -> None:
    """A crash mid-append (no newline) loses only the unacknowledged change."""
    store = JournaledStore(tmp_path)
    store.save(BASE)
    store.update([(("pods", "a"), {"n": 1})], dict)
    store.close()
    with store.journal_path.open("ab") as f:
        f.write(b'{"g":1,"n":2,"c":"sha256:')
    again = JournaledStore(tmp_path)
    data = again.load()
    assert data is not None
    assert data["pods"] == {"a": {"n": 1}}
    assert store.journal_path.read_bytes().endswith(b"\n")
    again.update([(("pods", "c"), {"n": 3})], dict)
    again.close()
    loaded = JournaledStore(tmp_path).load()
    assert loaded is not None
    assert loaded["pods"] == {"a": {"n": 1}, "c": {"n": 3}}


def test_damaged_middle_line_is_corrupt(tmp_path: Path) -> None:
    """A bad line followed by good ones is damage, reported with the journal's path."""
    store = JournaledStore(tmp_path)
    store.save(BASE)
    store.update([(("pods", "a"), {"n": 1})], dict)
    store.update([(("pods", "b"), {"n": 2})], dict)
    store.close()
    lines = store.journal_path.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"n":1}', b'"n":9}')
    store.journal_path.write_bytes(b"\n".join(lines))
    with pytest.raises(CorruptCheckpointError) as info:
        JournaledStore(tmp_path).load()
    assert info.value.path == str(store.journal_path)


def test_lines_of_an_older_generation_are_ignored(tmp_path: Path) -> None:
    """A crash after a new snapshot but before the journal was emptied replays nothing twice."""
    store = JournaledStore(tmp_path)
    store.save(BASE)
    store.update([(("pods", "a"), {"n": 1})], dict)
    old_journal = store.journal_path.read_bytes()
    store.save({**BASE, "pods": {"a": {"n": 1}, "b": {"n": 2}}})
    store.close()
    store.journal_path.write_bytes(old_journal)  # as if the truncate never happened
    data = JournaledStore(tmp_path).load()
    assert data is not None
    assert data["pods"] == {"a": {"n": 1}, "b": {"n": 2}}
    assert data["generation"] == 2


def test_compaction_writes_a_snapshot(tmp_path: Path) -> None:
    """Every compact_every changes the full state is snapshotted and the journal emptied."""
    store = JournaledStore(tmp_path, compact_every=3)
    store.save(BASE)
    state = dict(BASE)
    for i in range(5):
        state = {**state, "pods": {**state["pods"], str(i): i}}
        store.update([(("pods", str(i)), i)], lambda s=state: s)  # type: ignore[misc]
    store.close()
    assert store.snapshot.load() is not None
    data = JournaledStore(tmp_path).load()
    assert data is not None
    assert data["pods"] == {str(i): i for i in range(5)}


def test_orphan_journal_without_snapshot_is_removed(tmp_path: Path) -> None:
    """Deleting the checkpoint to start afresh also discards its journal."""
    store = JournaledStore(tmp_path)
    store.save(BASE)
    store.update([(("pods", "a"), {"n": 1})], dict)
    store.close()
    store.snapshot.remove()
    assert JournaledStore(tmp_path).load() is None
    assert not store.journal_path.exists()


def test_apply_ops_creates_parents() -> None:
    """Setting a nested path creates missing objects; deleting a missing key is a no-op."""
    data: dict[str, object] = {}
    apply_ops(data, [[["a", "b"], 1], [["x", "y"]]])
    assert data == {"a": {"b": 1}, "x": {}}
