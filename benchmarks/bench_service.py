"""Admission round trip over the Unix socket: Allocate, then RemoveContainer.

Starts ``pinlet serve`` as a real process on the 384-CPU NPS4 machine description with a
durable state directory, places 500 containers (300 exclusive single-CPU containers and 200
shared ones), then times ``--rounds`` round trips of a Guaranteed 2-CPU pod through the client
library: Allocate (admission, durable before it answers) and RemoveContainer. Prints p50 / p99
per call and per round trip and calls per second. Target (issue 3): p99 under 5 ms.

    python benchmarks/bench_service.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pinlet.client import ContainerSpec, PinletClient, PodSpec, ResourceRequirements

ROOT = Path(__file__).resolve().parent.parent
MACHINE = ROOT / "tests" / "fixtures" / "machines" / "nps4-384.yaml"


def pod(name: str, cpu: str | None) -> PodSpec:
    res = (
        ResourceRequirements(limits={"cpu": cpu, "memory": "256Mi"})
        if cpu
        else ResourceRequirements()
    )
    return PodSpec(
        uid=str(uuid.uuid4()),
        name=name,
        namespace="bench",
        containers=(ContainerSpec(name="c", resources=res),),
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_ready(client: PinletClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"pinlet serve exited with {proc.returncode}")
        try:
            if client.health(timeout=1) == "SERVING":
                return
        except Exception:
            time.sleep(0.05)
    raise SystemExit("pinlet serve did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()

    pinlet = Path(sys.executable).parent / "pinlet"
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "pinlet.sock")
        proc = subprocess.Popen(
            [str(pinlet), "--machine", str(MACHINE), "serve", "--socket", sock,
             "--state-dir", os.path.join(tmp, "state")],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            with PinletClient(sock, timeout=10) as client:
                wait_ready(client, proc)
                for i in range(300):
                    client.allocate(pod(f"excl-{i}", "1"))
                for i in range(200):
                    client.allocate(pod(f"shared-{i}", None))
                allocs: list[float] = []
                removes: list[float] = []
                trips: list[float] = []
                start = time.perf_counter()
                for i in range(args.rounds):
                    p = pod(f"bench-{i}", "2")
                    t0 = time.perf_counter()
                    client.allocate(p)
                    t1 = time.perf_counter()
                    client.remove_container(pod_uid=p.uid, container_name="c")
                    t2 = time.perf_counter()
                    allocs.append(t1 - t0)
                    removes.append(t2 - t1)
                    trips.append(t2 - t0)
                elapsed = time.perf_counter() - start
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)

    print(f"machine: {MACHINE.name}, 500 containers placed, {args.rounds} round trips, durable")
    print(f"{'':16}{'p50':>10}{'p99':>10}{'max':>10}")
    for label, samples in (
        ("Allocate", allocs),
        ("RemoveContainer", removes),
        ("round trip", trips),
    ):
        print(
            f"{label:16}{statistics.median(samples) * 1000:>7.3f} ms"
            f"{percentile(samples, 0.99) * 1000:>7.3f} ms{max(samples) * 1000:>7.3f} ms"
        )
    print(f"calls per second: {2 * args.rounds / elapsed:.0f}")


if __name__ == "__main__":
    main()
