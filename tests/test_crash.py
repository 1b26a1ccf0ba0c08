"""Crash safety: kill -9 the daemon in the middle of a stream of allocations, restart, check.

Every answer the daemon gave before it died must survive the restart (an admitted pod keeps
its CPUs, a removed container stays removed); the one call in flight may have happened or not;
and no CPU is ever in two containers.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable

from conftest import Daemon

from pinlet.client import (
    ContainerSpec,
    PinletClient,
    PinletConnectionError,
    PodSpec,
    ResourceRequirements,
)
from pinlet.client.errors import PinletError, UnexpectedAdmissionError

ALL_CPUS = set(range(32))  # dual-socket-ht


def guaranteed(cpus: int) -> PodSpec:
    res = ResourceRequirements(limits={"cpu": str(cpus), "memory": "64Mi"})
    uid = str(uuid.uuid4())
    return PodSpec(
        uid=uid, name=f"p-{uid[:8]}", namespace="crash", containers=(ContainerSpec("c", res),)
    )


def cpus_of(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


class Stream:
    """Allocations and removals against the daemon, recording what was acknowledged."""

    def __init__(self, socket_path: str, seed: int, admitted: dict[str, set[int]]) -> None:
        self.client = PinletClient(socket_path, timeout=5)
        self.rng = random.Random(seed)
        self.admitted = dict(admitted)  # acknowledged, not removed
        self.removed: set[str] = set()  # acknowledged removals
        self.in_flight: tuple[str, str] | None = None  # ("allocate"|"remove", uid)
        self.ops = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                if self.admitted and (len(self.admitted) > 10 or self.rng.random() < 0.4):
                    uid = self.rng.choice(sorted(self.admitted))
                    self.in_flight = ("remove", uid)
                    self.client.remove_container(pod_uid=uid, container_name="c")
                    del self.admitted[uid]
                    self.removed.add(uid)
                else:
                    pod = guaranteed(self.rng.choice((1, 2, 3)))
                    self.in_flight = ("allocate", pod.uid)
                    try:
                        answer = self.client.allocate(pod)
                    except UnexpectedAdmissionError:
                        self.in_flight = None
                        continue
                    self.admitted[pod.uid] = cpus_of(answer.containers[0].cpuset_cpus)
                self.in_flight = None
                self.ops += 1
        except (PinletConnectionError, PinletError):
            return  # the daemon died under us: the current call's outcome is unknown
        finally:
            self.client.close()


def check_state(socket_path: str, stream: Stream) -> dict[str, set[int]]:
    """Assert the restarted daemon kept every acknowledged answer; what it holds now."""
    with PinletClient(socket_path, timeout=5) as client:
        pods, shared = client.list_assignments()
    seen: dict[str, set[int]] = {}
    for p in pods:
        for c in p.containers:
            if c.exclusive:
                seen[p.uid] = cpus_of(c.cpuset_cpus)
    in_flight_uid = stream.in_flight[1] if stream.in_flight else None
    for uid, cpus in stream.admitted.items():
        if stream.in_flight == ("remove", uid):
            continue  # its removal may or may not have been written
        assert seen.get(uid) == cpus, f"acknowledged pod {uid} lost or changed"
    for uid in stream.removed:
        assert uid not in seen, f"acknowledged removal of {uid} undone"
    for uid in seen:
        assert uid in stream.admitted or uid == in_flight_uid, f"unknown pod {uid} appeared"
    owned = [cpu for cpus in seen.values() for cpu in cpus]
    assert len(owned) == len(set(owned)), "a CPU is in two containers"
    assert set(owned) | cpus_of(shared) == ALL_CPUS
    assert not set(owned) & cpus_of(shared)
    return seen


def test_kill_9_mid_stream_loses_nothing(start_daemon: Callable[..., Daemon]) -> None:
    """Three kill -9 / restart cycles: acknowledged work survives, nothing is handed out twice."""
    daemon = start_daemon()
    state_dir, socket_path = daemon.state_dir, daemon.socket_path
    rng = random.Random(42)
    known: dict[str, set[int]] = {}
    for cycle in range(3):
        stream = Stream(str(socket_path), seed=cycle, admitted=known)
        worker = threading.Thread(target=stream.run)
        worker.start()
        target = 30 + rng.randrange(40)
        deadline = time.monotonic() + 30
        while stream.ops < target and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.002)
        daemon.process.kill()  # SIGKILL, by the pid we started
        daemon.process.wait()
        stream.stopped.set()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert stream.ops >= target, "the stream stalled before the kill"
        # Same state dir, same socket path: the dead daemon's socket file is stale.
        daemon = start_daemon(socket_path=socket_path, state_dir=state_dir)
        known = check_state(str(socket_path), stream)
        # The call that was in flight can simply be retried: both calls are idempotent.
        if stream.in_flight:
            action, uid = stream.in_flight
            with PinletClient(str(socket_path)) as client:
                if action == "remove":
                    client.remove_container(pod_uid=uid, container_name="c")
                    known.pop(uid, None)
                elif uid in known:
                    pods, _ = client.list_assignments(pod_uid=uid)
                    assert cpus_of(pods[0].containers[0].cpuset_cpus) == known[uid]
