"""The checkpoint file: pinlet's state on disk, versioned, checksummed and replaced atomically.

The service turns its state into a plain JSON-able ``dict`` and back; this module only owns the
file. On disk the file is one JSON object, written as a single line::

    {"version":1,"checksum":"sha256:<64 hex digits>","data":{...}}

``checksum`` is the SHA-256 of the *canonical* JSON of ``data``: ``sort_keys``, separators
``(",", ":")``, ``ensure_ascii=False``, UTF-8. Hashing a canonical rendering (rather than the
kubelet's FNV-1a over a Go-specific dump of its structs) means an operator can check a file
with ``jq -jcS .data pinlet_state | sha256sum`` (jq and Python agree on strings and on
integers below 2**53, which is what pinlet stores), and a file re-indented by hand still
verifies, since only the *value* of ``data`` is hashed.

Why one line and not indented JSON
    The service saves after every state-changing RPC; the target is a round trip under 5 ms
    at p99 with 500 containers. ``benchmarks/bench_checkpoint.py`` (500 pods of one container,
    101 KiB on disk) on the shared 2-vCPU dev VM: the canonical encode plus SHA-256 costs
    1.5-2.8 ms, and rendering the same state with ``indent=2`` costs 8-13 ms *more*, because
    the standard library drops from its C encoder to pure Python whenever ``indent`` is set.
    That alone would break the budget, so the file is the canonical string of ``data`` with
    the envelope spliced around it, and ``data`` is serialised exactly once per save.
    Operators read it with ``jq . pinlet_state``. Measured with that layout: ``save`` median
    2.7-3.6 ms, p99 4.6-6.6 ms on ext4 (two fsyncs; 1.7 / 2.2 ms on tmpfs); ``load`` median
    0.9-1.7 ms, its p99 (4-5 ms) being garbage collection during ``json.loads``. The same
    layout makes ``load`` cheap: when the file is laid out as ``save`` writes it, the checksum
    is verified over the bytes of ``data`` as they sit in the file, which saves re-serialising
    ``data`` (~2 ms); only a reformatted or damaged file pays for that.

Durability (``save``)
    Write to ``.pinlet_state.tmp-<random>`` in the same directory, ``fsync`` it, ``os.replace``
    it onto the checkpoint, then ``fsync`` the directory so the rename itself survives a power
    cut. A crash at any point leaves the old checkpoint or the new one under the final name,
    never a torn file (kubernetes/kubernetes#84783, #135711: the kubelet refusing to start on
    a half-written checkpoint). A missing state directory is created with mode 0700, and the
    file is 0600: the state names every pod on the node.

Loading (``load``)
    A missing file is a fresh start (``None``). Anything else that is wrong raises
    :class:`~pinlet.server.errors.CorruptCheckpointError` (worded like the kubelet's restore
    error, naming the file and what to do) or, for a JSON object whose ``version`` is an
    integer this build does not read, :class:`~pinlet.server.errors.CheckpointVersionError`.
    The version is checked before the rest of the envelope so that a future format may change
    the other keys and still be reported as "newer", not "corrupt". A file that cannot be
    *read* (permissions, I/O error) is a plain :class:`~pinlet.server.errors.CheckpointError`:
    it is not corrupt, and telling the operator to delete it would be wrong. Temporary files
    left by a crash mid-save are removed first.

One writer per state directory: ``load`` removes temporary files it finds, so a second
process loading while another saves could remove the saver's temporary file (the save then
fails; the checkpoint stays intact). Saves from one process must be serialised by the caller;
concurrent saves never corrupt the file, but the last rename wins.

JSON's own rules apply to ``data``: tuples come back as lists and integer keys as strings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

from .errors import CheckpointError, CheckpointVersionError, CorruptCheckpointError

VERSION: Final = 1
"""The format version this build writes."""
SUPPORTED_VERSIONS: Final = (1,)
"""The format versions this build reads."""

_KEYS: Final = frozenset({"version", "checksum", "data"})
_CHECKSUM: Final = re.compile(r"sha256:([0-9a-f]{64})")
_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600

# Built once: the encoder's options are fixed and ``encode`` then goes straight to the C
# encoder. allow_nan=False because NaN and Infinity are not JSON, and a checkpoint that
# other tools cannot parse would be no better than a corrupt one. check_circular=False saves
# ~20% of the encode: the state is a tree, and a cycle still fails, as a RecursionError.
_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)


class CheckpointStore:
    """The checkpoint file ``<state_dir>/<filename>``: load it, save it durably, remove it."""

    def __init__(self, state_dir: str | os.PathLike[str], filename: str = "pinlet_state") -> None:
        # A separator or "." would put the file (and the temporary files that must sit next
        # to it for the rename to be atomic) somewhere else than state_dir.
        if not filename or filename in (".", "..") or Path(filename).name != filename:
            raise ValueError(f"checkpoint filename must be a plain file name, not {filename!r}")
        self._dir = Path(state_dir)
        self.path = self._dir / filename
        self._tmp_prefix = f".{filename}.tmp-"
        # tempfile.mkstemp's random part is drawn from [a-z0-9_].
        self._tmp_name = re.compile(re.escape(self._tmp_prefix) + r"[a-z0-9_]+")

    def __repr__(self) -> str:
        return f"CheckpointStore({str(self.path)!r})"

    def load(self) -> dict[str, Any] | None:
        """Return the saved data, or ``None`` when there is no checkpoint yet."""
        self._remove_leftovers()
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckpointError(
                str(self.path), f"could not read checkpoint {self.path}: {exc}"
            ) from exc
        return _decode(str(self.path), raw)

    def save(self, data: Mapping[str, Any]) -> None:
        """Replace the checkpoint with ``data``; it is on stable storage when this returns."""
        path = str(self.path)
        payload = _encode(path, data)
        try:
            if _make_dir(self._dir, _DIR_MODE):
                # mkdir's mode is filtered by the umask; the state must be exactly 0700.
                os.chmod(self._dir, _DIR_MODE)
            fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=self._tmp_prefix)
        except OSError as exc:
            raise CheckpointError(path, f"could not write checkpoint {path}: {exc}") from exc
        renamed = False
        try:
            try:
                os.fchmod(fd, _FILE_MODE)
                _write_all(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            renamed = True
            # If this fails the new file is in place but may not survive a power cut, so the
            # save is reported as failed: "durable before it returns" is the contract.
            _fsync_dir(self._dir)
        except OSError as exc:
            raise CheckpointError(path, f"could not write checkpoint {path}: {exc}") from exc
        finally:
            if not renamed:
                # Best effort: the original error is the one worth reporting, and a leftover
                # is removed by the next load anyway.
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def remove(self) -> None:
        """Delete the checkpoint, durably; a missing file is not an error."""
        path = str(self.path)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise CheckpointError(path, f"could not remove checkpoint {path}: {exc}") from exc
        try:
            # Otherwise a power cut could bring the deleted state back on the next start.
            _fsync_dir(self._dir)
        except OSError as exc:
            raise CheckpointError(path, f"could not remove checkpoint {path}: {exc}") from exc

    def _remove_leftovers(self) -> None:
        """Delete temporary files a crash between write and rename left behind."""
        try:
            entries = os.scandir(self._dir)
        except OSError:
            # No directory means nothing to clean; an unreadable one is reported by the read.
            return
        with entries:
            for entry in entries:
                if self._tmp_name.fullmatch(entry.name) and not entry.is_dir(follow_symlinks=False):
                    # A leftover that cannot be removed is harmless: it is never read, and a
                    # directory we cannot write to makes the next save fail loudly.
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _encode(path: str, data: Mapping[str, Any]) -> bytes:
    """The file's bytes: the canonical ``data`` with the envelope spliced around it."""
    try:
        # JSONEncoder only knows dict; other mappings are copied, at the top level only.
        canonical = _CANONICAL.encode(data if isinstance(data, dict) else dict(data))
        body = canonical.encode("utf-8")  # lone surrogates fail here (UnicodeEncodeError)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(
            path, f"could not write checkpoint {path}: state is not JSON-serialisable: {exc}"
        ) from exc
    return b"".join((_prefix(hashlib.sha256(body).hexdigest()), body, b"}\n"))


def _prefix(digest: str) -> bytes:
    """Everything ``save`` writes before the canonical ``data``."""
    return f'{{"version":{VERSION},"checksum":"sha256:{digest}","data":'.encode("ascii")


def _decode(path: str, raw: bytes) -> dict[str, Any]:
    """Check the envelope and the checksum; return ``data``."""

    def corrupt(reason: str) -> NoReturn:
        raise CorruptCheckpointError(path, reason)

    if not raw:
        # What a crash leaves on file systems that persist a rename before the data.
        corrupt("empty file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        corrupt(f"not valid UTF-8 at byte {exc.start}")
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        corrupt(f"not valid JSON: {exc}")
    if not isinstance(doc, dict):
        corrupt("not a JSON object")
    if "version" in doc:
        version = doc["version"]
        # bool is an int to Python but not a version number.
        if type(version) is not int:
            corrupt("version is not an integer")
        if version not in SUPPORTED_VERSIONS:
            raise CheckpointVersionError(path, version, SUPPORTED_VERSIONS)
    if missing := _KEYS - doc.keys():
        corrupt(f"missing top-level keys: {_names(missing)}")
    if extra := doc.keys() - _KEYS:
        corrupt(f"unexpected top-level keys: {_names(extra)}")
    checksum = doc["checksum"]
    match = _CHECKSUM.fullmatch(checksum) if isinstance(checksum, str) else None
    if match is None:
        corrupt('malformed checksum (expected "sha256:" and 64 lowercase hex digits)')
    data = doc["data"]
    if not isinstance(data, dict):
        corrupt("data is not a JSON object")
    digest = match.group(1)
    prefix = _prefix(digest)
    # Fast path: the file is laid out as save writes it, so the bytes between the prefix and
    # the closing "}\n" are the canonical data that was hashed. Bytes that hash to the stored
    # checksum are (barring a SHA-256 collision) exactly the canonical string save wrote.
    if (
        raw.startswith(prefix)
        and raw.endswith(b"}\n")
        and hashlib.sha256(raw[len(prefix) : -2]).hexdigest() == digest
    ):
        return data
    # Reformatted by hand, or damaged: hash the canonical rendering of what was parsed.
    if hashlib.sha256(_CANONICAL.encode(data).encode("utf-8")).hexdigest() != digest:
        corrupt("checksum mismatch")
    return data


def _reject_constant(name: str) -> NoReturn:
    # json.loads accepts NaN and Infinity by default; save never writes them.
    raise ValueError(f"{name} is not JSON")


def _names(keys: Iterable[str]) -> str:
    return ", ".join(json.dumps(k, ensure_ascii=False) for k in sorted(keys))


def _write_all(fd: int, payload: bytes) -> None:
    """``os.write`` until everything is written: it may write less than asked."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dir(directory: Path, mode: int) -> bool:
    """``mkdir -p`` that fsyncs each parent gaining an entry; True if ``directory`` was made."""
    try:
        os.mkdir(directory, mode)
    except FileExistsError:
        return False
    except FileNotFoundError:
        if directory.parent == directory:
            raise
        # Parents get the usual umask-filtered mode, as os.makedirs gives them.
        _make_dir(directory.parent, 0o777)
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            return False
    _fsync_dir(directory.parent)
    return True
