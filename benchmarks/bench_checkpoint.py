"""Median and p99 of a checkpoint save, load and round trip with 500 pods in state.

The service saves after every state-changing RPC; the target is a save + load round trip under
5 ms at p99 with 500 containers. The state is shaped like the service's: pod UID →
{name, namespace, containers: {name: {cpus, mems, memory, ...}}}. ``save`` includes its two
fsyncs, so the figures depend on the disk under ``--dir`` (default: the system temp dir); run
it on the node's real state disk to know what a node will see.

The "encode" rows show why the file is one canonical line: the same data rendered with
``indent=2`` (what a pretty-printed file would cost on top of the canonical string that the
checksum needs anyway) is several times slower than everything else in a save.

    python benchmarks/bench_checkpoint.py [--pods N] [--containers N] [--repeat N] [--dir D]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from pinlet.server.checkpoint import CheckpointStore


def state(pods: int, containers: int, seed: int = 7) -> dict[str, Any]:
    """A realistic state: each pod's containers pinned to exclusive CPUs and NUMA memory."""
    rng = random.Random(seed)
    data: dict[str, Any] = {}
    cpu = 2  # the first core is reserved
    for i in range(pods):
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        entries = {}
        for c in range(containers):
            n = rng.choice((1, 2, 4, 8))
            numa = (cpu // 48) % 8
            entries[f"container-{c}" if c else "app"] = {
                "cpus": f"{cpu}-{cpu + n - 1}" if n > 1 else str(cpu),
                "mems": str(numa),
                "memory": [{"numaAffinity": [numa], "type": "memory", "size": 1 << 30}],
                "init": False,
            }
            cpu += n
        data[uid] = {"name": f"web-{i}", "namespace": "prod", "containers": entries}
    return data


def percentiles(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, p99) of ``fn`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--containers", type=int, default=1, help="containers per pod")
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--dir", default=None, help="parent of the state dir (default: tmp)")
    args = parser.parse_args()

    data = state(args.pods, args.containers)

    def canonical() -> bytes:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).digest()

    def pretty() -> str:
        return json.dumps({"version": 1, "checksum": "", "data": data}, indent=2)

    with tempfile.TemporaryDirectory(dir=args.dir) as parent:
        store = CheckpointStore(f"{parent}/pinlet")
        store.save(data)
        size = store.path.stat().st_size
        assert store.load() == data

        def round_trip() -> None:
            store.save(data)
            store.load()

        rows = (
            ("encode: canonical + sha256", canonical),
            ("encode: indent=2 (not used)", pretty),
            ("save", lambda: store.save(data)),
            ("load", store.load),
            ("round trip (save + load)", round_trip),
        )
        print(
            f"{args.pods} pods x {args.containers} containers, {size / 1024:.0f} KiB on disk, "
            f"{args.repeat} runs, dir {parent}"
        )
        print(f"{'':<28} {'median':>9} {'p99':>9}")
        for label, fn in rows:
            median, p99 = percentiles(fn, args.repeat)
            print(f"{label:<28} {median:>6.3f} ms {p99:>6.3f} ms")


if __name__ == "__main__":
    main()
