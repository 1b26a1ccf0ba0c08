"""The in-code machines of the allocator tests agree with the sysfs fixtures of the same name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from machines import (
    dual_socket_ht,
    dual_socket_ht_12,
    dual_socket_no_ht,
    dual_socket_snc2,
    nps4_384,
    single_socket_ht,
)

from pinlet.server.sysfs import discover
from pinlet.server.topology import Topology

SYSFS = Path(__file__).parent / "fixtures" / "sysfs"


@pytest.mark.parametrize(
    ("fixture", "builder"),
    [
        ("single-socket-ht", single_socket_ht),
        ("topo-dual-socket-ht", dual_socket_ht_12),
        ("dual-socket-no-ht", dual_socket_no_ht),
        ("dual-socket-ht", dual_socket_ht),
        ("dual-socket-snc2", dual_socket_snc2),
        ("nps4-384", nps4_384),
    ],
)
def test_builder_matches_fixture_cpu_layout(fixture: str, builder: Callable[[], Topology]) -> None:
    """Same name, same CPUs, cores, sockets and NUMA nodes (L3 data may differ)."""
    discovered = discover(SYSFS / fixture)
    built = builder()
    layout = {c.cpu: (c.socket, c.core, c.numa) for c in discovered.cpu_info.values()}
    assert layout == {c.cpu: (c.socket, c.core, c.numa) for c in built.cpu_info.values()}
