"""Durable state as a snapshot plus a write-ahead journal of small changes.

Rewriting the whole checkpoint after every RPC costs time proportional to the number of pods
on the node (about 2.5 ms of JSON encoding for 500 pods, ``benchmarks/bench_checkpoint.py``),
which alone would eat the service's 5 ms p99 budget. So a state-changing RPC appends one
journal line holding only what it changed and ``fdatasync``s it (a small constant cost), and
the full snapshot (:class:`~pinlet.server.checkpoint.CheckpointStore`, atomic and
checksummed) is rewritten only every ``compact_every`` changes and at start.

Files in the state directory: ``pinlet_state`` (the snapshot) and ``pinlet_state.journal``.
Each journal line is one JSON object::

    {"g": <snapshot generation>, "n": <sequence>, "c": "sha256:<hex of ops>", "ops": [...]}

where every op is ``[path, value]`` (set) or ``[path]`` (delete) and ``path`` is a list of
keys into the snapshot's ``data``. The snapshot's ``data`` carries its ``generation``; a
journal line of another generation is left over from a crash between writing a new snapshot
and emptying the journal, and is ignored (the snapshot already contains it).

Crash safety: an RPC answers only after its line is on disk. A crash in the middle of an
append leaves a torn *last* line; it was never acknowledged, so loading drops it (and cuts it
off the file). A bad line anywhere else means the file was damaged, which is reported as a
corrupt checkpoint like any other.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from .checkpoint import CheckpointStore
from .errors import CheckpointError, CorruptCheckpointError

Path_ = tuple[str, ...]
DELETE: Final = object()
"""Marker value in :meth:`JournaledStore.update` changes: delete this path."""

_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _digest(ops_text: str) -> str:
    return "sha256:" + hashlib.sha256(ops_text.encode()).hexdigest()


def apply_ops(data: dict[str, Any], ops: Sequence[Sequence[Any]]) -> None:
    """Apply journal ops in place."""
    for op in ops:
        path = op[0]
        node = data
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        if len(op) == 1:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = op[1]


class JournaledStore:
    """A snapshot (:class:`CheckpointStore`) plus an append-only journal."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        filename: str = "pinlet_state",
        *,
        compact_every: int = 512,
    ) -> None:
        self.snapshot = CheckpointStore(state_dir, filename)
        self.path = self.snapshot.path
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.compact_every = compact_every
        self._generation = 0
        self._seq = 0
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"JournaledStore({str(self.path)!r})"

    # -- reading -------------------------------------------------------------------------------

    def load(self) -> dict[str, Any] | None:
        """The snapshot with the journal replayed; ``None`` for a fresh state directory."""
        data = self.snapshot.load()
        if data is None:
            # Without a snapshot a journal cannot be applied to anything: an operator deleted
            # the checkpoint to start afresh, so its journal goes too.
            self._unlink_journal()
            return None
        generation = data.get("generation", 0)
        if not isinstance(generation, int):
            raise CorruptCheckpointError(str(self.path), "generation is not an integer")
        self._generation = generation
        self._seq = 0
        for ops in self._read_journal():
            apply_ops(data, ops)
        return data

    def _read_journal(self) -> list[Sequence[Sequence[Any]]]:
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CheckpointError(str(self.journal_path), f"cannot read: {exc}") from None
        *complete, tail = raw.split(b"\n")
        result: list[Sequence[Sequence[Any]]] = []
        for i, line in enumerate(complete):
            record = self._parse(line)
            if record is None:
                raise CorruptCheckpointError(
                    str(self.journal_path), f"journal line {i + 1} is damaged"
                )
            g, n, ops = record
            if g != self._generation:
                continue  # written before the current snapshot; already in it
            if n != self._seq + 1:
                raise CorruptCheckpointError(
                    str(self.journal_path),
                    f"journal line {i + 1} has sequence {n}, expected {self._seq + 1}",
                )
            self._seq = n
            result.append(ops)
        if tail:
            # A torn final append (no newline): never acknowledged, so drop it, and cut it
            # off so that the next append starts on a line of its own.
            self._truncate_journal(len(raw) - len(tail))
        return result

    @staticmethod
    def _parse(line: bytes) -> tuple[int, int, Sequence[Sequence[Any]]] | None:
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(record, dict):
            return None
        g, n, c, ops = record.get("g"), record.get("n"), record.get("c"), record.get("ops")
        if not (isinstance(g, int) and isinstance(n, int) and isinstance(ops, list)):
            return None
        if c != _digest(_ENCODER.encode(ops)):
            return None
        for op in ops:
            if not (isinstance(op, list) and len(op) in (1, 2) and isinstance(op[0], list)):
                return None
            if not op[0] or not all(isinstance(k, str) for k in op[0]):
                return None
        return g, n, ops

    # -- writing -------------------------------------------------------------------------------

    def save(self, data: Mapping[str, Any]) -> None:
        """Write a full snapshot (a new generation) and empty the journal."""
        generation = self._generation + 1
        self.snapshot.save({**data, "generation": generation})
        self._generation = generation
        self._seq = 0
        self._truncate_journal(0)

    def update(
        self, changes: Sequence[tuple[Path_, Any]], snapshot: Callable[[], Mapping[str, Any]]
    ) -> None:
        """Record ``changes`` (path → new value or :data:`DELETE`); durable before it returns.

        Every ``compact_every`` changes the whole state (``snapshot()``, which must already
        include the changes) is written as a new snapshot instead.
        """
        if self._seq + 1 >= self.compact_every:
            self.save(snapshot())
            return
        ops = [[list(path)] if value is DELETE else [list(path), value] for path, value in changes]
        ops_text = _ENCODER.encode(ops)
        seq = self._seq + 1
        line = f'{{"g":{self._generation},"n":{seq},"c":"{_digest(ops_text)}","ops":{ops_text}}}\n'
        fd = self._journal_fd()
        try:
            payload = line.encode()
            while payload:
                written = os.write(fd, payload)
                payload = payload[written:]
            os.fdatasync(fd)
        except OSError as exc:
            # The line may be half written; a full snapshot puts the file back in order.
            self._close()
            raise CheckpointError(str(self.journal_path), f"cannot append: {exc}") from None
        self._seq = seq

    def close(self) -> None:
        self._close()

    # -- file handling -------------------------------------------------------------------------

    def _journal_fd(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(
                    self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
            except OSError as exc:
                raise CheckpointError(str(self.journal_path), f"cannot open: {exc}") from None
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _truncate_journal(self, length: int) -> None:
        self._close()
        try:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.ftruncate(fd, length)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise CheckpointError(str(self.journal_path), f"cannot truncate: {exc}") from None

    def _unlink_journal(self) -> None:
        self._close()
        try:
            Path(self.journal_path).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CheckpointError(str(self.journal_path), f"cannot remove: {exc}") from None
