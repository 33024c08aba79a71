"""How a call is said when calls pile up: the phrasing shortens, nothing is dropped unseen.

One speaker says about four calls a minute in full (chime, sentence, twice), so a burst —
forty counters opening at 07:30 — would leave the last citizens waiting minutes for their
number. The plan trades repetition for punctuality: with more waiting behind a call than
`shorten_after_s` of full speech (or the call itself already that late) it is said once,
and the chime is left out between back-to-back calls. The daemon and bench/voice_load.py
both decide with `plan`, so the bench measures what the daemon does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plan:
    repeat: int
    chime: str  # each | once | none, as VoiceDevice.chime
    shortened: bool  # said fewer times than configured, because of the backlog


def plan(dev: Any, behind_s: float, late_s: float, quiet_s: float) -> Plan:
    """The phrasing for the next call.

    `behind_s`: seconds the calls waiting behind it would take in full; `late_s`: how long
    ago it was called; `quiet_s`: how long the speaker has been silent (office seconds).
    """
    repeat, chime = dev.repeat, dev.chime
    shortened = repeat > 1 and max(behind_s, late_s) > dev.shorten_after_s
    if shortened:
        repeat = 1
    if quiet_s < dev.chime_gap_s:  # right after another call: the hall is already listening
        chime = "none"
    return Plan(repeat, chime, shortened)


__all__ = ["Plan", "plan"]
