"""Vietnamese number words (DOMAIN.md): hand-written cases, and every number 0-9999 read back."""
from __future__ import annotations

import pytest

from display.voice.numbers import LETTERS, all_words, digit_words, number_words, ticket_words

CASES = [  # (n, north, south)
    (0, "không", "không"),
    (1, "một", "một"),
    (5, "năm", "năm"),
    (9, "chín", "chín"),
    (10, "mười", "mười"),
    (11, "mười một", "mười một"),
    (14, "mười bốn", "mười bốn"),
    (15, "mười lăm", "mười lăm"),
    (19, "mười chín", "mười chín"),
    (20, "hai mươi", "hai mươi"),
    (21, "hai mươi mốt", "hai mươi mốt"),
    (24, "hai mươi tư", "hai mươi tư"),
    (25, "hai mươi lăm", "hai mươi lăm"),
    (30, "ba mươi", "ba mươi"),
    (45, "bốn mươi lăm", "bốn mươi lăm"),
    (51, "năm mươi mốt", "năm mươi mốt"),
    (99, "chín mươi chín", "chín mươi chín"),
    (100, "một trăm", "một trăm"),
    (101, "một trăm linh một", "một trăm lẻ một"),
    (104, "một trăm linh bốn", "một trăm lẻ bốn"),
    (105, "một trăm linh năm", "một trăm lẻ năm"),
    (110, "một trăm mười", "một trăm mười"),
    (111, "một trăm mười một", "một trăm mười một"),
    (115, "một trăm mười lăm", "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt", "một trăm hai mươi mốt"),
    (200, "hai trăm", "hai trăm"),
    (305, "ba trăm linh năm", "ba trăm lẻ năm"),
    (999, "chín trăm chín mươi chín", "chín trăm chín mươi chín"),
    (1000, "một nghìn", "một ngàn"),
    (1001, "một nghìn không trăm linh một", "một ngàn không trăm lẻ một"),
    (1005, "một nghìn không trăm linh năm", "một ngàn không trăm lẻ năm"),
    (1010, "một nghìn không trăm mười", "một ngàn không trăm mười"),
    (1015, "một nghìn không trăm mười lăm", "một ngàn không trăm mười lăm"),
    (1023, "một nghìn không trăm hai mươi ba", "một ngàn không trăm hai mươi ba"),
    (1100, "một nghìn một trăm", "một ngàn một trăm"),
    (1105, "một nghìn một trăm linh năm", "một ngàn một trăm lẻ năm"),
    (2001, "hai nghìn không trăm linh một", "hai ngàn không trăm lẻ một"),
    (2024, "hai nghìn không trăm hai mươi tư", "hai ngàn không trăm hai mươi tư"),
    (2999, "hai nghìn chín trăm chín mươi chín", "hai ngàn chín trăm chín mươi chín"),
    (5555, "năm nghìn năm trăm năm mươi lăm", "năm ngàn năm trăm năm mươi lăm"),
    (7071, "bảy nghìn không trăm bảy mươi mốt", "bảy ngàn không trăm bảy mươi mốt"),
    (8000, "tám nghìn", "tám ngàn"),
    (9999, "chín nghìn chín trăm chín mươi chín", "chín ngàn chín trăm chín mươi chín"),
    (10000, "mười nghìn", "mười ngàn"),
    (21000, "hai mươi mốt nghìn", "hai mươi mốt ngàn"),
    (100000, "một trăm nghìn", "một trăm ngàn"),
    (1000000, "một triệu", "một triệu"),
]


@pytest.mark.parametrize("n,north,south", CASES)
def test_number_words_both_dialects(n: int, north: str, south: str) -> None:
    assert " ".join(number_words(n, "north")) == north
    assert " ".join(number_words(n, "south")) == south


def test_four_can_be_bon() -> None:
    assert " ".join(number_words(24, four="bốn")) == "hai mươi bốn"
    assert " ".join(number_words(14, four="bốn")) == "mười bốn"


DIGIT = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5,
         "lăm": 5, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}


def read_back(words: list[str], dialect: str) -> int:
    """An independent reader of Vietnamese number words, strict about where each word may stand."""
    odd, thousand, other_odd, other_thousand = (("linh", "nghìn", "lẻ", "ngàn") if dialect == "north"
                                                else ("lẻ", "ngàn", "linh", "nghìn"))
    total, group, pending, prev = 0, 0, None, None
    for w in words:
        assert w not in (other_odd, other_thousand), f"{w} in a {dialect} reading"
        if w == "trăm":
            group += pending * 100
            pending = None
        elif w == "mươi":
            assert pending is not None and pending >= 2
            group += pending * 10
            pending = None
        elif w == "mười":
            group += 10
        elif w == odd:
            assert prev == "trăm", "linh/lẻ only right after trăm"
        elif w == thousand:
            total += (group + (pending or 0)) * 1000
            group, pending = 0, None
        else:
            assert pending is None, f"two digits in a row: {words}"
            if w == "mốt" or w == "tư":
                assert prev == "mươi", f"{w} only after mươi: {words}"
            if w == "lăm":
                assert prev in ("mươi", "mười"), f"lăm only after mười/mươi: {words}"
            if prev in ("mươi", "mười"):
                assert w not in ("năm",), f"năm after {prev}: {words}"
            pending = DIGIT[w]
        prev = w
    return total + group + (pending or 0)


@pytest.mark.parametrize("dialect", ["north", "south"])
def test_every_number_to_9999_reads_back(dialect: str) -> None:
    for n in range(10000):
        words = number_words(n, dialect)
        assert read_back(words, dialect) == n, (n, words)
        if n >= 1000 and n % 1000:
            assert words[2:4] == [words[2], "trăm"], (n, words)  # "không trăm" when hundreds are zero


def test_digit_words() -> None:
    assert digit_words("1023") == ["một", "không", "hai", "ba"]
    with pytest.raises(ValueError):
        digit_words("12a")


@pytest.mark.parametrize("number,by_value,by_digit", [
    ("1023", "một nghìn không trăm hai mươi ba", "một không hai ba"),
    ("A012", "a mười hai", "a không một hai"),
    ("K05", "ca năm", "ca không năm"),
    ("k05", "ca năm", "ca không năm"),
    ("B-101", "bê một trăm linh một", "bê một không một"),
    ("Đ7", "đê bảy", "đê bảy"),
    ("0000", "không", "không không không không"),
    ("HT 2", "hát tê hai", "hát tê hai"),
    ("S21", "ét xì hai mươi mốt", "ét xì hai một"),
])
def test_ticket_words(number: str, by_value: str, by_digit: str) -> None:
    assert " ".join(ticket_words(number)) == by_value
    assert " ".join(ticket_words(number, digit_by_digit=True)) == by_digit


def test_ticket_words_south() -> None:
    assert " ".join(ticket_words("A105", "south")) == "a một trăm lẻ năm"


@pytest.mark.parametrize("bad", ["", "   ", "A#1", "12€", "số 5"])
def test_unreadable_ticket_numbers_are_clear_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        ticket_words(bad)


def test_bad_number_arguments() -> None:
    with pytest.raises(ValueError):
        number_words(-1)
    with pytest.raises(TypeError):
        number_words("12")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        number_words(5, "central")  # type: ignore[arg-type]


def test_all_words_covers_every_reading() -> None:
    vocab = set(all_words())
    for dialect in ("north", "south"):
        for n in list(range(0, 10000, 7)) + [10**6, 10**9 + 1]:
            assert set(number_words(n, dialect)) <= vocab
    for name in LETTERS.values():
        assert set(name.split()) <= vocab
