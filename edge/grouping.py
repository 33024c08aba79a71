"""Which daemons of a host may share one process (`motcua group`), for `motcua run` and `motcua install`.

Each process costs 35-40 MB of interpreter and libraries, so on a 1-2 GB box the headless
devices of a host share one, and the hub, the reports writer (and simulated citizens) another.
What cannot share: screens (pygame draws one window a process, so an on-screen keypad too),
cameras (heavy decoding), the engine (it must never wait on anyone), and a second sound-card
voice (pygame's mixer is one per process).
"""
from __future__ import annotations

from typing import Any, Iterable

#: Device kinds whose daemons draw nothing and may share a process.
SHARED_KINDS = ("led", "keypad", "scanner", "printer", "voice")
#: Service daemons that may share a process with each other; never the engine.
GROUPABLE_SERVICES = ("hub", "reports", "simulator")


def split_devices(devices: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(the devices that share one process, the ones that keep their own), in config order."""
    shared: list[Any] = []
    alone: list[Any] = []
    mixer = False
    for d in devices:
        ok = d.kind in SHARED_KINDS and not (d.kind == "keypad" and getattr(d, "backend", "") == "screen")
        if ok and d.kind == "voice" and getattr(d, "backend", "") == "pygame":
            ok, mixer = not mixer, True
        (shared if ok else alone).append(d)
    if len(shared) == 1:  # a group of one is just a device
        alone, shared = shared + alone, []
    return shared, alone
