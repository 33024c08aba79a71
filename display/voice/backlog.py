"""How a call is said when calls pile up: the phrasing shortens, nothing is dropped unseen.

One speaker says about four calls a minute in full (chime, sentence, twice), so a burst —
forty counters opening at 07:30 — would leave the last citizens waiting minutes for their
number. The plan trades repetition for punctuality: with more waiting behind a call than
`shorten_after_s` of full speech (or the call itself already that late) it is said once;
beyond `terse_after_s` it takes the shortest form, "xin mời số … đến quầy …" — read like
a list, "số … đến quầy …", right after another call — about 4 s instead of 6 s once and
15 s in full, so that even fifteen counters calling in the same minute are all announced
within a minute; the chime is left out between back-to-back calls. The daemon and bench/voice_load.py
both decide with `plan`, so the bench measures what the daemon does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plan:
    repeat: int
    chime: str  # each | once | none, as VoiceDevice.chime
    shortened: bool  # said fewer times than configured, or tersely, because of the backlog
    terse: bool = False  # the shortest form: "xin mời số … đến quầy …"
    continued: bool = False  # right after another call: terse calls then start with just "số"


def plan(dev: Any, behind_s: float, late_s: float, quiet_s: float) -> Plan:
    """The phrasing for the next call.

    `behind_s`: seconds the calls waiting behind it would take in full; `late_s`: how long
    ago it was called; `quiet_s`: how long the speaker has been silent (office seconds).
    """
    repeat, chime = dev.repeat, dev.chime
    backlog = max(behind_s, late_s)
    terse = backlog > dev.terse_after_s
    shortened = terse or (repeat > 1 and backlog > dev.shorten_after_s)
    if shortened:
        repeat = 1
    continued = quiet_s < dev.chime_gap_s
    if continued:  # right after another call: the hall is already listening
        chime = "none"
    return Plan(repeat, chime, shortened, terse, continued)


__all__ = ["Plan", "plan"]
