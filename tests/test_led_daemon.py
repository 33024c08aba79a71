"""The led daemon on a real broker with the real engine; a pymodbus slave plays the boards."""
from __future__ import annotations

import asyncio
import json
import os
import select
import threading
from pathlib import Path

import pytest
from pymodbus import FramerType
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusSerialServer

import display.led as led
from display.led.protocols import Shown
from display.led.virtual import PtyPair
from edge.bus import wait_until
from harness import TestOffice, copy_config

LED_1 = '''[[devices]]
id = "led-1"
kind = "led"
counter = 1
address = 1
'''


class Relay:
    """Joins the master ends of two ptys: a null-modem cable between two serial ports."""

    def __init__(self) -> None:
        self.a, self.b = PtyPair(), PtyPair()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pair = {self.a.master: self.b.master, self.b.master: self.a.master}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(pair), [], [], 0.1)
            for fd in ready:
                try:
                    os.write(pair[fd], os.read(fd, 4096))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.a.close()
        self.b.close()


class ModbusBoards:
    """pymodbus (not our code) as the boards: a serial RTU server for units 1 and 3."""

    def __init__(self, port: str) -> None:
        self.writes: list[tuple[int, int, int, list[int]]] = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.server: ModbusSerialServer | None = None
        self.context = ModbusServerContext(
            devices={u: ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [0xFF] * 256)) for u in (1, 3)},
            single=False)
        self.port = port
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pymodbus", daemon=True)
        self._thread.start()
        assert self._started.wait(10)

    def _trace(self, sending: bool, pdu):
        if not sending:
            with self.lock:
                self.writes.append((pdu.dev_id, pdu.function_code, pdu.address, list(pdu.registers)))
        return pdu

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.server = ModbusSerialServer(self.context, framer=FramerType.RTU, port=self.port,
                                             baudrate=9600, trace_pdu=self._trace)
            self._started.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except Exception:  # noqa: BLE001 - shutdown cancels serve_forever
            pass

    def seen(self) -> list[tuple[int, int, int, list[int]]]:
        with self.lock:
            return list(self.writes)

    def close(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(5)
        self._thread.join(timeout=5)


@pytest.fixture
def modbus_office(tmp_path: Path):
    relay = Relay()
    shared = (f'[[devices]]\nid = "led-1"\nkind = "led"\ncounter = 1\naddress = 1\n'
              f'backend = "serial"\nport = "{relay.a.path}"\nblink_s = 0\n\n'
              f'[[devices]]\nid = "led-3"\nkind = "led"\ncounter = 3\naddress = 3\n'
              f'backend = "serial"\nport = "{relay.a.path}"\nblink_s = 0\n')
    cfg = copy_config(tmp_path, replace={LED_1: shared})
    office = TestOffice(tmp_path / "data", cfg).start()
    boards = ModbusBoards(relay.b.path)
    yield office, boards
    office.close()
    boards.close()
    relay.close()


def start(office: TestOffice, device_id: str):
    d = led.create(office.ctx(device_id, "led"))
    d.start()
    office._closers.append(d.stop)
    return d


def test_pymodbus_slave_sees_the_register_writes_of_calls(modbus_office):
    office, boards = modbus_office
    office.start_engine()
    owner = start(office, "led-1")
    other = start(office, "led-3")
    assert owner.is_owner and not other.is_owner
    admin, t = office.client("admin"), office.topics
    statuses: dict[str, dict] = {}
    admin.subscribe(t.device_status_all, lambda topic, p: statuses.__setitem__(topic.split("/")[-2], json.loads(p)))

    for counter in (1, 3):
        assert admin.request(t.counter_command(counter), {"action": "open", "staff": "Nguyễn Thị Lan"})["ok"]
    assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
    assert admin.request(t.ticket_issue, {"service": "KD"})["ok"]
    r1 = admin.request(t.counter_command(1), {"action": "next"})
    r3 = admin.request(t.counter_command(3), {"action": "next"})
    assert (r1["ticket"]["number"], r3["ticket"]["number"]) == ("2001", "K01")

    # Unit 1 gets 2001 in its value register; unit 3 the shapes of " K01" from 0x0080.
    assert wait_until(lambda: (1, 6, 0, [2001]) in boards.seen(), 10), boards.seen()
    assert wait_until(lambda: (3, 16, 0x80, [0x00, 0x75, 0x3F, 0x06]) in boards.seen(), 10), boards.seen()
    # The board answered (pymodbus's echo passed our CRC check): both devices report ok.
    assert wait_until(lambda: statuses.get("led-1", {}).get("state") == "ok"
                      and statuses.get("led-3", {}).get("state") == "ok", 10), statuses
    assert statuses["led-3"]["detail"]["driven_by"] == "led-1"

    # Only changes go out: the retained state and the called event say the same number.
    count = len(boards.seen())
    admin.publish(t.counter_state(1), b"{not json", retain=False)  # bad input is ignored
    assert admin.request(t.counter_command(1), {"action": "recall"})["ok"]
    assert not wait_until(lambda: len(boards.seen()) > count, 0.5)

    # Closing the counter blanks its board.
    assert admin.request(t.counter_command(1), {"action": "close"})["ok"]
    assert wait_until(lambda: (1, 16, 0x80, [0, 0, 0, 0]) in boards.seen(), 10), boards.seen()
    assert owner.healthy()


def test_virtual_backend_shows_the_call_on_a_simulated_board(office: TestOffice):
    office.start_engine()
    d = start(office, "led-1")
    admin, t = office.client("admin"), office.topics
    assert admin.request(t.counter_command(1), {"action": "open"})["ok"]
    assert admin.request(t.ticket_issue, {"service": "DD"})["ok"]
    assert admin.request(t.counter_command(1), {"action": "next"})["ticket"]["number"] == "1001"
    assert d.sim is not None
    assert wait_until(lambda: d.sim.shown(1) == Shown(1, "1001"), 10)
    board_dir = office.data / "led-1" / "board"
    assert wait_until(lambda: (board_dir / "board-1.png").exists(), 5)
    assert json.loads((board_dir / "boards.json").read_text())["boards"]["1"]["text"] == "1001"


def test_ascii_board_blinks_by_itself_on_call_and_recall(tmp_path: Path):
    ascii_led = LED_1 + 'protocol = "ascii"\ntemplate = "\\u0002{address:02d}{text}{blink}{xor}\\u0003"\nblink_s = 0.5\n'
    office = TestOffice(tmp_path / "data", copy_config(tmp_path, replace={LED_1: ascii_led})).start()
    try:
        office.start_engine()
        d = start(office, "led-1")
        assert d.sim is not None
        seen: list[Shown] = []
        d.sim.on_show = lambda s, t: seen.append(s)
        admin, t = office.client("admin"), office.topics
        assert admin.request(t.counter_command(1), {"action": "open"})["ok"]
        assert admin.request(t.ticket_issue, {"service": "HT"})["ok"]
        assert admin.request(t.counter_command(1), {"action": "next"})["ok"]
        assert wait_until(lambda: Shown(1, "2001", True) in seen and seen[-1] == Shown(1, "2001", False), 10), seen
        seen.clear()
        assert admin.request(t.counter_command(1), {"action": "recall"})["ok"]
        assert wait_until(lambda: seen[:1] == [Shown(1, "2001", True)] and seen[-1] == Shown(1, "2001", False), 10), seen
        assert admin.request(t.counter_command(1), {"action": "close"})["ok"]
        assert wait_until(lambda: seen[-1] == Shown(1, "", False), 10), seen
    finally:
        office.close()
