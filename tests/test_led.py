"""LED boards: frames, the line driver on real ptys, recovery, and the daemon on a real broker."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import serial

from display.led.line import Board, LineDriver, LineState
from display.led.protocols import AsciiTemplate, BoardError, ModbusRTU, Shown, TextError, crc16, with_crc
from display.led.virtual import PtyPair, SimulatedBoards
from edge.bus import wait_until


# ------------------------------------------------------------------ frames


def test_crc16_matches_the_modbus_reference_frame():
    # "Read 10 holding registers from unit 1" is the textbook frame: 01 03 00 00 00 0A C5 CD.
    assert with_crc(bytes.fromhex("01030000000A")) == bytes.fromhex("01030000000AC5CD")
    assert crc16(b"") == 0xFFFF


def test_modbus_number_is_a_single_register_write():
    frame = ModbusRTU(4).frame(3, "2023")
    assert frame[:6] == bytes.fromhex("0306000007E7")
    assert len(frame) == 8 and crc16(frame[:6]) == int.from_bytes(frame[6:], "little")


def test_modbus_text_and_blank_are_seven_segment_shapes():
    proto = ModbusRTU(4)
    frame = proto.frame(1, "K05")
    assert frame[:7] == bytes([1, 0x10, 0x00, 0x80, 0x00, 0x04, 8])
    assert frame[7:15] == bytes([0, 0, 0, 0x75, 0, 0x3F, 0, 0x6D])  # " K05"
    blank = proto.frame(1, "")
    assert blank[7:15] == bytes(8)
    leading_zero = proto.frame(1, "0042")  # a plain value write would lose the zeros
    assert leading_zero[1] == 0x10
    dec = proto.decoder()
    got = dec.feed(frame + blank + leading_zero + proto.frame(1, "7"))
    assert [s.text for s, _ in got] == ["K05", "", "0042", "7"]
    assert all(reply[:6] == f[:6] for (_, reply), f in zip(got, [frame, blank, leading_zero]))


def test_text_the_board_cannot_show_is_a_clear_error():
    with pytest.raises(TextError, match="4"):
        ModbusRTU(4).frame(1, "12345")
    with pytest.raises(TextError, match="no shape"):
        ModbusRTU(4).frame(1, "Ư1")
    with pytest.raises(TextError, match="ASCII"):
        AsciiTemplate(4, "{text}").frame(1, "Ư1")


def test_decoder_skips_garbage_and_bad_crc():
    proto = ModbusRTU(4)
    good = proto.frame(2, "1001")
    broken = bytearray(proto.frame(2, "1002"))
    broken[5] ^= 0xFF
    got = proto.decoder().feed(b"\x00\xff\x13" + bytes(broken) + good)
    assert [s for s, _ in got] == [Shown(2, "1001")]


def test_modbus_reply_checks():
    proto = ModbusRTU(4)
    frame = proto.frame(1, "2001")

    def reader(data: bytes):
        buf = bytearray(data)

        def read(n: int) -> bytes:
            out = bytes(buf[:n])
            del buf[:n]
            return out
        return read

    proto.read_reply(reader(frame), frame)  # an echo is the normal answer
    with pytest.raises(BoardError, match="no reply"):
        proto.read_reply(reader(b""), frame)
    with pytest.raises(BoardError, match="exception 2"):
        proto.read_reply(reader(with_crc(bytes([1, 0x86, 2]))), frame)
    with pytest.raises(BoardError, match="CRC"):
        proto.read_reply(reader(frame[:6] + b"\x00\x00"), frame)
    assert not proto.expects_reply(0)  # broadcast


def test_ascii_template_with_checksum_and_native_blink():
    proto = AsciiTemplate(4, "\x02{address:02d}{text}{blink}{xor}\x03", counter=3)
    assert proto.native_blink
    frame = proto.frame(7, "12", blink=True)
    body = b"\x0207  121"
    x = 0
    for b in body:
        x ^= b
    assert frame == body + f"{x:02X}".encode() + b"\x03"
    got = proto.decoder().feed(b"junk" + frame + proto.frame(7, "", blink=False))
    assert [s for s, _ in got] == [Shown(7, "12", True), Shown(7, "", False)]
    with pytest.raises(ValueError, match="unknown field"):
        AsciiTemplate(4, "{text}{colour}")


# ------------------------------------------------------------------ the line driver on a pty


class Statuses:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []

    def __call__(self, level: str, detail: dict) -> None:
        self.items.append((level, detail))

    @property
    def last(self) -> tuple[str, dict]:
        return self.items[-1] if self.items else ("", {})


def opener(path: str):
    return lambda: serial.Serial(path, 9600, timeout=0.3, write_timeout=1.0, exclusive=True)


@pytest.fixture
def line_rig(tmp_path: Path):
    """A pty whose slave is reached through a symlink (the udev name), a sim board, a driver."""
    made: list = []

    def build(proto, addresses=(1,), answer=True, blink_half=0.5):
        pair = PtyPair()
        link = tmp_path / "ttyLED"
        link.symlink_to(pair.path)
        sim = SimulatedBoards(pair.master, proto, name="t", out_dir=tmp_path / "board", answer=answer).start()
        status = Statuses()
        drv = LineDriver("t", opener(str(link)), [Board(a, proto) for a in addresses], status,
                         reply_timeout=0.1, retry_s=0.3, blink_half_period=blink_half,
                         backoff=(0.05, 0.2), probe_s=0.1)
        drv.start()
        made.append((drv, sim, pair))
        return drv, sim, pair, status, link

    yield build
    for drv, sim, pair in made:
        drv.stop()
        sim.stop()
        pair.close()


def test_driver_sends_only_changes_and_blinks_in_software(line_rig, tmp_path):
    drv, sim, _, status, _ = line_rig(ModbusRTU(4), addresses=(1, 2), blink_half=0.1)
    assert wait_until(lambda: status.last[0] == "ok", 5)
    drv.show(1, "2001")
    drv.show(2, "1001")
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2001") and sim.shown(2) == Shown(2, "1001"), 5)
    frames = sim.frames
    drv.show(1, "2001")  # the same text again: nothing goes on the wire
    time.sleep(0.3)
    assert sim.frames == frames
    # A call blinks: the board alternates blank and the number, then stays on the number.
    seen: list[str] = []
    sim.on_show = lambda s, t: seen.append(s.text) if s.address == 1 else None
    drv.show(1, "2002", blink_s=0.5)
    assert wait_until(lambda: len(seen) >= 4 and sim.shown(1) == Shown(1, "2002") and
                      not drv.boards[1].wanted(time.monotonic(), 0.1)[1] and
                      time.monotonic() > drv.boards[1].blink_until + 0.2, 5)
    assert seen[0] == "2002" and "" in seen and seen[-1] == "2002"
    assert (tmp_path / "board" / "board-1.png").exists()
    assert '"2002"' in (tmp_path / "board" / "boards.json").read_text()


def test_driver_uses_native_blink_when_the_template_has_it(line_rig):
    proto = AsciiTemplate(4, "\x02{address:02d}{text}{blink}\x03")
    drv, sim, _, _, _ = line_rig(proto)
    drv.show(1, "2003", blink_s=0.3)
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2003", True), 5)
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2003", False), 5)


def test_board_that_does_not_answer_is_reported_and_retried(line_rig):
    drv, sim, _, status, _ = line_rig(ModbusRTU(4), answer=False)
    drv.show(1, "2004")
    assert wait_until(lambda: status.last[0] == "warning" and status.last[1]["boards"]["1"] == "no reply", 5)
    sim.answer = True
    assert wait_until(lambda: status.last[0] == "ok" and drv.boards[1].sent == ("2004", False), 5)


def test_line_recovers_after_the_adapter_disappears_and_returns(line_rig):
    drv, sim, pair, status, link = line_rig(ModbusRTU(4))
    drv.show(1, "2005")
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2005"), 5)
    # Unplug: the device node goes and the far end is gone.
    sim.stop()
    link.unlink()
    pair.close()
    assert wait_until(lambda: drv.state is LineState.LOST and status.last[0] == "error", 5)
    assert "line lost" in status.last[1]["error"] or "cannot open" in status.last[1]["error"]
    drv.show(1, "2006")  # a call while the line is down is not lost
    # Replug: a new adapter node under the same name; the board gets its number again.
    pair2 = PtyPair()
    sim2 = SimulatedBoards(pair2.master, ModbusRTU(4), name="t2").start()
    try:
        link.symlink_to(pair2.path)
        assert wait_until(lambda: sim2.shown(1) == Shown(1, "2006"), 10)
        assert wait_until(lambda: status.last[0] == "ok" and drv.state is LineState.READY, 5)
    finally:
        sim2.stop()
        pair2.close()


def test_port_that_never_existed_is_an_error_not_a_crash(tmp_path):
    status = Statuses()
    drv = LineDriver("nope", opener(str(tmp_path / "missing")), [Board(1, ModbusRTU(4))], status,
                     backoff=(0.05, 0.1))
    drv.start()
    try:
        assert wait_until(lambda: status.last[0] == "error", 5)
        assert "cannot open" in status.last[1]["error"] and drv.healthy()
    finally:
        drv.stop()


def test_exclusive_open_keeps_a_second_driver_off_the_line():
    pair = PtyPair()
    try:
        first = opener(pair.path)()
        with pytest.raises(serial.SerialException):
            opener(pair.path)()
        first.close()
    finally:
        pair.close()
    assert not os.path.exists("/nonexistent-led-port")


def test_text_too_long_for_the_board_is_reported_and_dashed(line_rig):
    drv, sim, _, status, _ = line_rig(ModbusRTU(4))
    drv.show(1, "20001")
    assert wait_until(lambda: sim.shown(1) == Shown(1, "----"), 5)
    assert wait_until(lambda: status.last[0] == "warning" and "5 characters" in status.last[1]["boards"]["1"], 5)
    drv.show(1, "2001")
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2001") and status.last[0] == "ok", 5)


def test_a_dead_board_does_not_delay_the_others(line_rig):
    drv, sim, _, status, _ = line_rig(ModbusRTU(4), addresses=(1, 2))
    real_feed = sim.decoder.feed

    def feed_without_board_2(data: bytes):
        return [(s, r if s.address != 2 else b"") for s, r in real_feed(data)]
    sim.decoder.feed = feed_without_board_2  # board 2 hears but never answers
    drv.show(2, "1001")
    assert wait_until(lambda: status.last[1].get("boards", {}).get("2") == "no reply", 5)
    order: list[int] = []
    sim.on_show = lambda s, t: order.append(s.address)
    with drv._cond:  # both updates become due at the same moment
        drv.show(2, "1002")
        drv.show(1, "2001")
    assert wait_until(lambda: sim.shown(1) == Shown(1, "2001") and 2 in order, 5)
    assert order[0] == 1 and drv.boards[1].sent == ("2001", False)


LED_1 = 'id = "led-1"\nkind = "led"\ncounter = 1\naddress = 1\n'


@pytest.mark.parametrize("extra, message", [
    ('protocol = "ascii"\ntemplate = "{address}{colour}"\n', "needs {text}"),
    ('backend = "serial"\n', "needs `port`"),
    ('address = 300\n', "address"),
])
def test_bad_led_config_is_a_clear_error(tmp_path: Path, extra: str, message: str):
    from edge.config import ConfigError, load
    from harness import copy_config
    text = LED_1.replace('address = 1\n', '') if "address =" in extra else LED_1
    cfg = copy_config(tmp_path, replace={LED_1: text + extra})
    with pytest.raises(ConfigError) as info:
        load(cfg)
    assert message in str(info.value) and "small.toml:" in str(info.value)
