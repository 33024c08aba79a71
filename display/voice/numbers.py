"""Vietnamese number and ticket reading for announcements (DOMAIN.md's rules).

Returns lists of words rather than a string so that each word can be looked up as a
clip in a voice pack. Northern and southern words differ only in "linh"/"lẻ" and
"nghìn"/"ngàn"; the rest is shared.
"""
from __future__ import annotations

import unicodedata
from typing import Literal

Dialect = Literal["north", "south"]

DIGITS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

#: Vietnamese names of the letters that ticket prefixes may use (the alphabet as taught
#: in schools; F, J, W, Z by their usual loan names).
LETTERS: dict[str, str] = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e",
    "Ê": "ê", "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca",
    "L": "e lờ", "M": "em mờ", "N": "en nờ", "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê",
    "Q": "quy", "R": "e rờ", "S": "ét xì", "T": "tê", "U": "u", "Ư": "ư", "V": "vê",
    "W": "vê kép", "X": "ích xì", "Y": "i dài", "Z": "dét",
}

_SCALES: tuple[str, ...] = ("", "{thousand}", "triệu", "tỷ")
MAX_NUMBER = 10**12 - 1


def _words(dialect: Dialect) -> tuple[str, str]:
    if dialect == "north":
        return "linh", "nghìn"
    if dialect == "south":
        return "lẻ", "ngàn"
    raise ValueError(f"unknown dialect {dialect!r}: north or south")


def _under_1000(n: int, full: bool, odd: str, four: str) -> list[str]:
    """Words for 0 < n < 1000; `full` when a higher group precedes (so "không trăm", "linh")."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    out: list[str] = []
    if hundreds or full:
        out += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            out += [odd, DIGITS[units]] if out else [DIGITS[units]]
    elif tens == 1:
        out.append("mười")
        if units:
            out.append("lăm" if units == 5 else DIGITS[units])
    else:
        out += [DIGITS[tens], "mươi"]
        if units:
            out.append({1: "mốt", 4: four, 5: "lăm"}.get(units, DIGITS[units]))
    return out


def number_words(n: int, dialect: Dialect = "north", *, four: str = "tư") -> list[str]:
    """Read a whole number: 1023 -> một nghìn không trăm hai mươi ba.

    `four` is the word for a final 4 after "mươi" ("tư" or "bốn", both in use).
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"number_words needs an int, not {type(n).__name__}")
    if n < 0 or n > MAX_NUMBER:
        raise ValueError(f"{n} is outside 0..{MAX_NUMBER}")
    if four not in ("tư", "bốn"):
        raise ValueError("four must be 'tư' or 'bốn'")
    odd, thousand = _words(dialect)
    if n == 0:
        return [DIGITS[0]]
    groups: list[int] = []
    while n:
        groups.append(n % 1000)
        n //= 1000
    out: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        out += _under_1000(group, bool(out), odd, four)
        if index:
            out.append(_SCALES[index].format(thousand=thousand))
    return out


def digit_words(digits: str) -> list[str]:
    """Read a string of digits one by one: "1023" -> một không hai ba."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{digits!r} is not a string of digits")
    return [DIGITS[int(d)] for d in digits]


def ticket_words(number: str, dialect: Dialect = "north", digit_by_digit: bool = False,
                 *, four: str = "tư") -> list[str]:
    """Read a ticket number as printed: letters by their names, digit runs per the setting.

    "A012" reads "a mười hai" (the value; leading zeros are not spoken) or, digit by
    digit, "a không một hai". Separators such as "-" or spaces are not spoken.
    """
    text = unicodedata.normalize("NFC", str(number)).strip().upper()
    if not text:
        raise ValueError("empty ticket number")
    out: list[str] = []
    run = ""

    def flush() -> None:
        nonlocal run
        if run:
            out.extend(digit_words(run) if digit_by_digit else number_words(int(run), dialect, four=four))
            run = ""

    for ch in text:
        if ch.isascii() and ch.isdigit():
            run += ch
            continue
        flush()
        if ch in LETTERS:
            out.extend(LETTERS[ch].split())
        elif ch in " -._/":
            continue
        else:
            raise ValueError(f"ticket number {number!r} has a character that cannot be read: {ch!r}")
    flush()
    return out


def all_words() -> list[str]:
    """Every word the readers above can produce: what a voice pack must hold."""
    words: list[str] = list(DIGITS)
    words += ["mười", "mươi", "mốt", "tư", "lăm", "trăm", "linh", "lẻ", "nghìn", "ngàn", "triệu", "tỷ"]
    for name in LETTERS.values():
        words += name.split()
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(w, None)
    return list(seen)
