"""From a call to one announcement: the script of segments and its joined samples.

One announcement is one buffer (HARDWARE.md: a pygame channel queues only one pending
sound), so it plays without gaps between clips and can never interleave with another.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from display.voice.numbers import Dialect, number_words, ticket_words
from display.voice.pack import VoicePack


@dataclass(frozen=True)
class Segment:
    """One part of the sentence: the chime, a phrase, the ticket number or the counter."""

    kind: str  # chime | phrase | number | counter
    text: str
    words: tuple[str, ...] = ()  # for number/counter: the words to look up
    key: str | None = None  # for chime/phrase: the clip key
    fallback: tuple[str, ...] = ()  # phrase: clips said instead when the pack has no `key` (an older pack)


@dataclass(frozen=True)
class Call:
    """A call (or recall) to announce, taken from a ticket event."""

    number: str
    counter: int
    ticket_id: str = ""
    counter_name: str | None = None
    recall: bool = False
    event_ts: str | None = None
    counter_label: str | None = None  # what the signage calls the counter ("A01"), if not its number
    times: int = 1  # which call of this ticket it is: 2 for the first recall, 3 for the next...


_COUNTER_NAME = re.compile(r"^\s*quầy\s+(?:số\s+)?([^\W\d_]{0,3}\d{1,4})(?!\w)", re.IGNORECASE)


def counter_label(name: str | None, number: int) -> str | None:
    """The spoken counter: "Quầy A01" -> "A01"; None when the name just repeats the number.

    Offices sign counters "Quầy A01" in large centres; saying "quầy số một" there would
    send citizens to the wrong desk.
    """
    m = _COUNTER_NAME.match(unicodedata.normalize("NFC", name or ""))
    if m is None:
        return None
    label = m.group(1)
    return None if label.isdigit() and int(label) == number else label


@dataclass
class Announcement:
    call: Call
    samples: np.ndarray
    rate: int
    sequence: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def opening(call: Call, terse: bool = False, continued: bool = False) -> Segment:
    """"xin mời công dân có số thứ tự", or for a recall "xin mời lần thứ hai/ba ..." so that
    the hall hears it is the same number again, not a new one.

    Terse (a speaker far behind): "xin mời số", a recall "xin mời lại số"; `continued` (right
    after another call, as a caller reads a list): just "số".
    """
    if call.recall:
        key = "recall" if call.times <= 2 else "recall_3" if call.times == 3 else "recall_again"
        if terse:
            return Segment("phrase", "", key="recall_short", fallback=(key, "call"))
        return Segment("phrase", "", key=key, fallback=("call",))
    if not terse:
        return Segment("phrase", "", key="call")
    if continued:
        return Segment("phrase", "", key="number_short", fallback=("call_short", "call"))
    return Segment("phrase", "", key="call_short", fallback=("call",))


def script(call: Call, dialect: Dialect = "north", digit_by_digit: bool = False,
           four: str = "tư", terse: bool = False, continued: bool = False) -> list[Segment]:
    """The sentence "xin mời công dân có số thứ tự <số> đến quầy số <quầy>" as segments;
    `terse`: "xin mời số <số> đến quầy <quầy>" for a speaker far behind ("số <số> đến quầy
    <quầy>" when `continued` right after another call).

    Raises ValueError when the ticket number cannot be read (a character that is neither
    a digit nor a letter).
    """
    number = ticket_words(call.number, dialect, digit_by_digit, four=four)
    counter = (ticket_words(call.counter_label, dialect, four=four) if call.counter_label
               else number_words(call.counter, dialect, four=four))
    return [
        Segment("chime", "", key="chime"),
        opening(call, terse, continued),
        Segment("number", " ".join(number), tuple(number)),
        Segment("phrase", "", key="to_counter_short", fallback=("to_counter",)) if terse
        else Segment("phrase", "", key="to_counter"),
        Segment("counter", " ".join(counter), tuple(counter)),
    ]


def render(pack: VoicePack, segments: list[Segment], repeat: int, call: Call,
           chime: str = "each") -> Announcement:
    """Join the clips of `segments`, `repeat` times, into one buffer with its record.

    `chime`: "each" repetition starts with it, only the first ("once"), or "none".
    """
    parts: list[np.ndarray] = []
    sequence: list[dict[str, Any]] = []
    missing: list[str] = []
    for i in range(repeat):
        with_chime = chime == "each" or (chime == "once" and i == 0)
        segs = [s for s in segments if with_chime or s.kind != "chime"]
        samples, record = _join(pack, segs, missing)
        if i:
            parts.append(pack.silence(pack.manifest.repeat_pause_ms))
        parts += samples
        sequence += [dict(r, repeat=i + 1) for r in record]
    samples = np.concatenate(parts) if parts else np.zeros(0, np.int16)
    return Announcement(call, samples, pack.rate, sequence, sorted(set(missing)))


def _join(pack: VoicePack, segments: list[Segment], missing: list[str]) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """The clips of one repetition with the gaps between segments, and their record."""
    gap = pack.silence(pack.manifest.gap_ms)
    one: list[np.ndarray] = []
    record: list[dict[str, Any]] = []
    for seg in segments:
        if seg.key is not None:
            key = next((k for k in (seg.key, *seg.fallback) if k in pack.clips), seg.key)
            keys = [key] if key in pack.clips else []
            missed = [] if key == seg.key and keys else [seg.key]
            text = seg.text or pack.texts.get(key, "")
        else:
            keys, missed = pack.match(list(seg.words))
            text = seg.text
        missing += missed
        if not keys:
            continue
        if one:
            one.append(gap)
        one += [pack.clips[k] for k in keys]
        record.append({"kind": seg.kind, "text": text, "clips": keys})
    return one, record
