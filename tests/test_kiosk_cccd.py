"""The citizen ID card's QR at the ticket kiosk's reader, through the real broker, engine,
printer and scanner daemons: elderly priority by age, greeting by title, a per-person cap
per day; and nothing of the card but the age bracket and a day-keyed hash anywhere."""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TestOffice, copy_config
from kiosk_reader import kiosk_with_reader, scan
from test_ticket_kiosk import Rig

import kiosk.ticket.screens as screens
from edge.bus import wait_until
from kiosk.ticket import cccd
from kiosk.ticket.controller import Screen

# 2021 chip CCCD: old 9-digit ID present, district-level address; 2024 căn cước: no old ID, 2-level address
OLD_CARD = ("079055001234|023456789|Nguyễn Văn Hùng|12031955|Nam|"
            "123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh|15062021")
NEW_CARD = "001198012345||Trần Thị Mai|20081998|Nữ|Phường Hoàn Kiếm, Thành phố Hà Nội|01072025"
SECRETS = ["079055001234", "023456789", "Nguyễn Văn Hùng", "12031955", "Lê Lợi",
           "001198012345", "Trần Thị Mai", "20081998", "Hoàn Kiếm"]

CONFIG = {
    'tracking_url = "https://motcua.example.vn/ve/{ticket_id}"\n':
    'tracking_url = "https://motcua.example.vn/ve/{ticket_id}"\ntickets_per_person = 2\n',
    'mode = "ticket"\nprinter = "printer-1"\n': 'mode = "ticket"\nprinter = "printer-1"\nscanner = "scanner-1"\n'
    'ask_priority = false\n',
    'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"\n':
    'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"\nrepeat_window_s = 0\n',
}


def test_both_card_generations_give_bracket_title_and_a_day_keyed_hash() -> None:
    today = date(2026, 12, 2)
    old = cccd.card_token(OLD_CARD, b"k" * 32, today)
    new = cccd.card_token(NEW_CARD, b"k" * 32, today)
    assert (old.bracket, old.title, old.elderly) == ("70-79", "ông", True)
    assert (new.bracket, new.title, new.elderly) == ("18-29", "bà", False)
    assert cccd.card_token(OLD_CARD, b"k" * 32, today, elderly_age=75).elderly is False
    assert cccd.parse_token(old.wire()) == old and cccd.parse_token(OLD_CARD) is None
    # the same card hashes alike all day, differently the next day and under another office's secret
    assert cccd.card_token(OLD_CARD, b"k" * 32, today).person == old.person
    assert cccd.card_token(OLD_CARD, b"k" * 32, date(2026, 12, 3)).person != old.person
    assert cccd.card_token(OLD_CARD, b"x" * 32, today).person != old.person
    assert not any(s in old.wire() + new.wire() for s in SECRETS)
    # a birthday today counts: 60 on the day
    assert cccd.card_token("012345678901||A|02121966|Nam|X|01012022", b"k", today).elderly
    assert not cccd.card_token("012345678901||A|03121966|Nam|X|01012022", b"k", today).elderly
    for bad in ("012345678901||A|31022000|Nam|X|01012022", "012345678901||A|01012099|Nam|X|01012022",
                "01234567890||A|01012000|Nam|X|01012022"):
        with pytest.raises(ValueError) as exc:
            cccd.card_token(bad, b"k", today)
        assert "012345678901" not in str(exc.value)


@pytest.fixture
def card_office(tmp_path: Path) -> Iterator[tuple[TestOffice, Rig]]:
    o = TestOffice(tmp_path / "data", copy_config(tmp_path, replace=CONFIG)).start()
    try:
        with kiosk_with_reader(o) as rig:
            yield o, rig
    finally:
        o.close()


def test_card_gives_priority_greeting_and_cap_and_leaks_nothing(card_office: Any, caplog: Any,
                                                                 monkeypatch: Any) -> None:
    office, rig = card_office
    caplog.set_level(logging.DEBUG)
    traffic: list[bytes] = []
    spy = office.client("admin")
    spy.subscribe(f"{office.topics.root}/#", lambda t, p: traffic.append(t.encode() + b" " + p))
    drawn: list[str] = []
    real_blit = screens.blit_text

    def recording_blit(surface: Any, text: str, *a: Any, **kw: Any) -> Any:
        drawn.append(text)
        return real_blit(surface, text, *a, **kw)
    monkeypatch.setattr(screens, "blit_text", recording_blit)
    k = rig.kiosk
    # the 2021 card of a man of 71: greeted as "ông", elderly priority without being asked
    scan(office, OLD_CARD)
    assert wait_until(lambda: k.ctrl.person is not None, 10)
    assert k.ctrl.greeting().startswith("Kính chào ông!") and "Người cao tuổi" in k.ctrl.greeting()
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "HT"))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    assert rig.view.ticket["priority"] == "elderly"
    assert k.ctrl.person is None, "the card must not stay for the next citizen"
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # a second ticket the same day is within the cap (2); the third is refused
    for n in (2, 3):
        scan(office, OLD_CARD)
        assert wait_until(lambda: k.ctrl.person is not None, 10)
        rig.wait_screen(Screen.HOME)
        rig.tap(("service", "DD"))
        if n == 2:
            assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
            rig.tap(("home",))
            rig.wait_screen(Screen.HOME)
    rig.wait_screen(Screen.NOTICE, 10)
    assert rig.view.notice == "person_limit"
    assert "tối đa 2" in k.ctrl.text(rig.view.notice, **rig.view.notice_args)
    rig.tap(("home",))
    rig.wait_screen(Screen.HOME)
    # the 2024 card of a woman of 28: "bà", no priority, her own cap
    scan(office, NEW_CARD)
    assert wait_until(lambda: k.ctrl.person is not None, 10)
    assert k.ctrl.greeting() == "Kính chào bà! Mời bà chọn dịch vụ."
    rig.wait_screen(Screen.HOME)
    rig.tap(("service", "HT"))
    assert wait_until(lambda: rig.view.screen == Screen.TICKET and rig.view.printed, 10), rig.view
    assert rig.view.ticket["priority"] == "none"
    assert len(rig.issued) == 3
    # what the engine keeps: the hash and the bracket, nothing else of the card
    db = sqlite3.connect(rig.engine.db_path)
    rows = db.execute("SELECT person, age_bracket, priority FROM tickets ORDER BY issued_at").fetchall()
    assert [r[1] for r in rows] == ["70-79", "70-79", "18-29"]
    assert rows[0][0] == rows[1][0] != rows[2][0] and all(len(r[0]) == 32 for r in rows)
    dump = "\n".join(db.iterdump())
    db.close()
    spy.stop()
    # nowhere: engine database, broker traffic, logs, what the kiosk drew, the kiosk's pictures
    logs = "\n".join(r.getMessage() for r in caplog.records)
    blob = b"\n".join(traffic).decode("utf-8", "replace")
    assert any("cccd:v1:" in t for t in blob.splitlines()), "the scanner's token was not seen on the broker"
    assert drawn and any("Kính chào" in d for d in drawn)
    pictures = b"".join(p.read_bytes() for p in office.data.rglob("*.png"))
    wal = b"".join(p.read_bytes() for p in rig.engine.db_path.parent.glob("engine.db*"))
    for secret in SECRETS:
        assert secret not in dump and secret not in blob and secret not in logs, secret
        assert not any(secret in d for d in drawn), secret
        assert secret.encode() not in pictures and secret.encode() not in wal, secret
    assert json.dumps(vars(k.ctrl), default=str).find("Hùng") < 0
