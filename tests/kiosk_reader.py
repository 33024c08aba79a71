"""A ticket kiosk with its reader, for the receipt and ID-card tests: engine, printer, kiosk and
a scanner daemon whose file feed stands for the reader (real daemons, real broker)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from harness import TestOffice
from test_ticket_kiosk import Rig

from edge.bus import wait_until
from kiosk.ticket.controller import Screen
from scanner.daemon import create as create_scanner


@contextmanager
def kiosk_with_reader(office: TestOffice) -> Iterator[Rig]:
    rig = Rig(office)
    scanner = create_scanner(office.ctx("scanner-1", "scanner"))
    try:
        rig.engine = office.start_engine()
        rig.start_printer()
        k = rig.start_kiosk()
        scanner.start()
        assert wait_until(lambda: scanner.reader.state.value == "ready", 10)
        assert wait_until(lambda: k.ctrl.printer.get("state") in ("ok", "warning") and k.ctrl.engine_online, 10)
        rig.wait_screen(Screen.HOME)
        yield rig
    finally:
        scanner.stop()
        rig.close()


def scan(office: TestOffice, text: str) -> None:
    """What the reader reads: one line of the scanner's feed."""
    with (office.data / "scanner-1" / "codes.txt").open("a", encoding="utf-8") as f:
        f.write(text + "\n")
