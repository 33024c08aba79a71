"""The citizen ID card's QR (CCCD, and the căn cước cards issued since July 2024), privacy first.

The QR is plain text, ``ID (12 digits)|old ID (9 digits or empty)|full name|DOB DDMMYYYY|sex|
address|date of issue DDMMYYYY`` (DOMAIN.md), unsigned: it identifies, it proves nothing.

The scanner daemon turns such a read into a ``CardToken`` *before* anything leaves it, so the
ID number, the name, the birth date and the address never reach the broker, a log or a
database. The token keeps what the kiosk needs and nothing more: the age bracket, whether
the office counts the citizen as elderly, the form of address ("ông"/"bà"), and a keyed hash
of the ID number under a key that changes every day (so yesterday's hashes link to nothing).
On the wire it is ``cccd:v1:<bracket>:<title>:<elderly 0|1>:<hash>``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "cccd:v1:"
_ID = re.compile(r"^\d{12}$")
_OLD_ID = re.compile(r"^(\d{9})?$")
_DATE = re.compile(r"^\d{8}$")
_TOKEN = re.compile(r"^cccd:v1:(?P<bracket>\d{1,2}-\d{1,3}|80\+|<18):(?P<title>ông|bà):(?P<elderly>[01]):"
                    r"(?P<hash>[0-9a-f]{32})$")
BRACKETS = ((0, 18, "<18"), (18, 30, "18-29"), (30, 40, "30-39"), (40, 50, "40-49"), (50, 60, "50-59"),
            (60, 70, "60-69"), (70, 80, "70-79"))


@dataclass(frozen=True)
class CardToken:
    """What the office may know of a card: never the ID, the name, the birth date or the address."""

    bracket: str
    title: str      # "ông" | "bà"
    elderly: bool
    person: str     # keyed hash of the ID number, valid for one day

    def wire(self) -> str:
        return f"{PREFIX}{self.bracket}:{self.title}:{int(self.elderly)}:{self.person}"


def looks_like_card(text: str) -> bool:
    """A CCCD QR: pipe-separated, a 12-digit ID first, a birth date fourth (no parsing of the rest)."""
    parts = text.strip().split("|")
    return len(parts) >= 6 and bool(_ID.match(parts[0])) and bool(_DATE.match(parts[3]))


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def bracket_of(age: int) -> str:
    return next((name for lo, hi, name in BRACKETS if lo <= age < hi), "80+")


def day_key(secret: bytes, day: date) -> bytes:
    """The day's hashing key: the office secret cannot be recovered from it, and it expires with the day."""
    return hmac.new(secret, f"motcua-person|{day.isoformat()}".encode(), hashlib.sha256).digest()


def card_token(text: str, secret: bytes, today: date, elderly_age: int = 60) -> CardToken:
    """The token of a card QR read on ``today``; ``ValueError`` (with no card data in it) when malformed."""
    parts = [p.strip() for p in text.strip().split("|")]
    if len(parts) < 6 or not _ID.match(parts[0]) or not _OLD_ID.match(parts[1]) or not _DATE.match(parts[3]):
        raise ValueError("not a citizen ID card QR")
    dob = parts[3]
    try:
        born = date(int(dob[4:]), int(dob[2:4]), int(dob[:2]))
    except ValueError:
        raise ValueError("the card's birth date is not a date") from None
    if born > today:
        raise ValueError("the card's birth date is in the future")
    sex = parts[4].lower()
    title = "bà" if sex in ("nữ", "nu", "female") else "ông"
    age = age_on(born, today)
    person = hmac.new(day_key(secret, today), parts[0].encode(), hashlib.sha256).hexdigest()[:32]
    return CardToken(bracket_of(age), title, age >= elderly_age, person)


def parse_token(text: str) -> CardToken | None:
    """The token the scanner published, or None when ``text`` is not one."""
    m = _TOKEN.match(text.strip())
    if m is None:
        return None
    return CardToken(m["bracket"], m["title"], m["elderly"] == "1", m["hash"])


def office_secret(data_dir: Path) -> bytes:
    """The office's hashing secret (``DATA/person.key``, 0600), made on first use.

    Every scanner of the office must hash with the same secret for the per-person cap to
    work: on a multi-host office copy this file to each host that runs a scanner.
    """
    path = Path(data_dir) / "person.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    log.info("made the office's ID-card hashing secret %s", path)
    return bytes.fromhex(path.read_text().strip())
