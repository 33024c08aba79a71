"""What LED counter boards understand: a protocol interface and a registry of protocols.

There is no single standard for RS-485 counter boards. A protocol turns "show this text
(blinking or not) on the board at this address" into the bytes of one frame, says
whether the board answers, and checks that answer. The simulated board (virtual.py)
decodes the same frames, so each protocol also has a decoder.
"""
from __future__ import annotations

import logging
import re
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)


class BoardError(Exception):
    """A board did not answer, or answered wrongly (the line itself still works)."""


class TextError(ValueError):
    """Text the board cannot show (too long, a character it has no shape for)."""


@dataclass(frozen=True)
class Shown:
    """What a decoded frame asks one board to show."""

    address: int
    text: str
    blink: bool = False


# ------------------------------------------------------------------------ Modbus RTU


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


#: 7-segment shapes, bit 0 = segment a ... bit 6 = segment g (bit 7, the dot, unused).
SEGMENTS: dict[str, int] = {
    " ": 0x00, "-": 0x40, "_": 0x08,
    "0": 0x3F, "1": 0x06, "2": 0x5B, "3": 0x4F, "4": 0x66,
    "5": 0x6D, "6": 0x7D, "7": 0x07, "8": 0x7F, "9": 0x6F,
    "A": 0x77, "B": 0x7C, "C": 0x39, "D": 0x5E, "E": 0x79, "F": 0x71, "G": 0x3D,
    "H": 0x76, "I": 0x06, "J": 0x1E, "L": 0x38, "N": 0x54, "O": 0x3F, "P": 0x73,
    "Q": 0x67, "R": 0x50, "S": 0x6D, "T": 0x78, "U": 0x3E, "Y": 0x6E,
    "K": 0x75, "M": 0x37, "V": 0x1C, "W": 0x2A, "X": 0x49, "Z": 0x1B,
}
_SHAPES = {v: k for k, v in reversed(list(SEGMENTS.items()))}


class BoardProtocol(ABC):
    """One way of talking to boards on a line."""

    name = ""
    #: The board blinks by itself when asked; otherwise the line driver blinks in software.
    native_blink = False

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def check_text(self, text: str) -> str:
        """The text as the board will show it, or TextError."""
        if len(text) > self.digits:
            raise TextError(f"{text!r} has {len(text)} characters; the board has {self.digits}")
        return text

    @abstractmethod
    def frame(self, address: int, text: str, blink: bool = False) -> bytes:
        """The bytes that make the board at `address` show `text` (empty: blank)."""

    def expects_reply(self, address: int) -> bool:
        return False

    def read_reply(self, read: Callable[[int], bytes], frame: bytes) -> None:
        """Read and check the board's answer to `frame`; BoardError when it is wrong or absent."""

    @abstractmethod
    def decoder(self) -> "FrameDecoder":
        """A decoder for the simulated board."""


class FrameDecoder(ABC):
    """Incremental frame decoder for the simulated board: feed bytes, get frames."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.errors = 0

    def feed(self, data: bytes) -> list[tuple[Shown, bytes]]:
        """Decoded frames with the reply each one gets (b"" for none)."""
        self.buf += data
        out: list[tuple[Shown, bytes]] = []
        while True:
            item = self._one()
            if item is None:
                return out
            out.append(item)

    @abstractmethod
    def _one(self) -> tuple[Shown, bytes] | None: ...


class ModbusRTU(BoardProtocol):
    """Common LED-485 7-segment boards: Modbus RTU, unit = board address.

    A number that fits is written with function 06 to the value register (0x0000);
    anything else (letters, leading zeros, blank) with function 16 as one 7-segment
    shape per digit from the text register (0x0080), left to right. Address 0 is the
    Modbus broadcast: boards obey but do not answer.
    """

    name = "modbus"
    VALUE_REGISTER = 0x0000
    TEXT_REGISTER = 0x0080

    def check_text(self, text: str) -> str:
        text = super().check_text(text.upper())
        bad = sorted({c for c in text if c not in SEGMENTS})
        if bad:
            raise TextError(f"{text!r}: a 7-segment board has no shape for {''.join(bad)!r}")
        return text

    def frame(self, address: int, text: str, blink: bool = False) -> bytes:
        text = self.check_text(text)
        if text.isdigit() and (text == "0" or not text.startswith("0")) and int(text) <= 0xFFFF:
            return with_crc(bytes([address, 0x06]) + self.VALUE_REGISTER.to_bytes(2, "big")
                            + int(text).to_bytes(2, "big"))
        padded = text.rjust(self.digits)
        values = b"".join(SEGMENTS[c].to_bytes(2, "big") for c in padded)
        return with_crc(bytes([address, 0x10]) + self.TEXT_REGISTER.to_bytes(2, "big")
                        + self.digits.to_bytes(2, "big") + bytes([2 * self.digits]) + values)

    def expects_reply(self, address: int) -> bool:
        return address != 0

    def read_reply(self, read: Callable[[int], bytes], frame: bytes) -> None:
        head = read(5)
        if len(head) < 5:
            raise BoardError("no reply" if not head else f"short reply {head.hex(' ')}")
        if head[0] != frame[0]:
            raise BoardError(f"reply from unit {head[0]}, expected {frame[0]}")
        if head[1] == frame[1] | 0x80:
            if crc16(head[:3]) != int.from_bytes(head[3:5], "little"):
                raise BoardError(f"exception reply with bad CRC {head.hex(' ')}")
            raise BoardError(f"board refused the write: Modbus exception {head[2]}")
        rest = read(3)
        reply = head + rest
        if len(reply) < 8:
            raise BoardError(f"short reply {reply.hex(' ')}")
        if crc16(reply[:6]) != int.from_bytes(reply[6:8], "little"):
            raise BoardError(f"reply with bad CRC {reply.hex(' ')}")
        if reply[:6] != frame[:6]:
            raise BoardError(f"unexpected reply {reply.hex(' ')} to {frame[:6].hex(' ')}")

    def decoder(self) -> FrameDecoder:
        return _ModbusDecoder(self.digits)


class _ModbusDecoder(FrameDecoder):
    def __init__(self, digits: int) -> None:
        super().__init__()
        self.digits = digits

    def _one(self) -> tuple[Shown, bytes] | None:
        buf = self.buf
        while len(buf) >= 2 and buf[1] not in (0x06, 0x10):
            del buf[0]  # resynchronise on garbage
            self.errors += 1
        if len(buf) < 8:
            return None
        size = 8 if buf[1] == 0x06 else 9 + buf[6]
        if len(buf) < size:
            return None
        frame = bytes(buf[:size])
        if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
            del buf[0]
            self.errors += 1
            return self._one()
        del buf[:size]
        address, register = frame[0], int.from_bytes(frame[2:4], "big")
        if frame[1] == 0x06:
            text = str(int.from_bytes(frame[4:6], "big")) if register == ModbusRTU.VALUE_REGISTER else None
        else:
            values = [int.from_bytes(frame[7 + 2 * i: 9 + 2 * i], "big") for i in range(frame[6] // 2)]
            text = "".join(_SHAPES.get(v & 0x7F, "?") for v in values).strip()
            if register != ModbusRTU.TEXT_REGISTER:
                text = None
        if text is None:
            self.errors += 1
            return self._one()
        return Shown(address, text), (b"" if address == 0 else with_crc(frame[:6]))


# ------------------------------------------------------------------------ ASCII template


class AsciiTemplate(BoardProtocol):
    """Boards that take one ASCII frame per update, described by a format template.

    Fields: {address}, {counter}, {text} (right-aligned to the digits), {blink} (1 or 0:
    a template that has it asks the board itself to blink), {xor} (two hex digits, XOR of
    every byte before it). Example: "\\x02{address:02d}{text}{blink}\\x03".
    """

    name = "ascii"

    def __init__(self, digits: int, template: str, counter: int | None = None) -> None:
        super().__init__(digits)
        self.template = template
        self.counter = counter or 0
        self.parts = list(string.Formatter().parse(template))
        fields = [f for _, f, _, _ in self.parts if f is not None]
        unknown = set(fields) - {"address", "counter", "text", "blink", "xor"}
        if unknown:
            raise ValueError(f"LED template {template!r}: unknown field(s) {', '.join(sorted(unknown))}")
        if "text" not in fields:
            raise ValueError(f"LED template {template!r} has no {{text}}")
        self.native_blink = "blink" in fields

    def check_text(self, text: str) -> str:
        text = super().check_text(text)
        if not text.isascii() or not text.isprintable():
            raise TextError(f"{text!r}: an ASCII board shows only printable ASCII")
        return text

    def frame(self, address: int, text: str, blink: bool = False) -> bytes:
        values = {"address": address, "counter": self.counter,
                  "text": self.check_text(text).rjust(self.digits), "blink": "1" if blink else "0"}
        out = ""
        for literal, field, spec, conv in self.parts:
            out += literal
            if field is None:
                continue
            if field == "xor":
                x = 0
                for b in out.encode("latin-1"):
                    x ^= b
                out += f"{x:02X}"
            else:
                out += format(values[field], spec or "")
        return out.encode("latin-1")

    def decoder(self) -> FrameDecoder:
        return _AsciiDecoder(self)


class _AsciiDecoder(FrameDecoder):
    """Matches frames against a regular expression built from the template."""

    def __init__(self, proto: AsciiTemplate) -> None:
        super().__init__()
        rx = ""
        for literal, field, spec, _ in proto.parts:
            rx += re.escape(literal)
            if field in ("address", "counter"):
                rx += rf"(?P<{field}>\s*\d+)"
            elif field == "text":
                rx += rf"(?P<text>.{{{proto.digits}}})"
            elif field == "blink":
                rx += "(?P<blink>[01])"
            elif field == "xor":
                rx += "[0-9A-F]{2}"
        self.rx = re.compile(rx.encode("latin-1"), re.S)

    def _one(self) -> tuple[Shown, bytes] | None:
        m = self.rx.search(bytes(self.buf))  # a copy: the match must not see the deletion below
        if m is None:
            return None
        if m.start():
            self.errors += 1
        del self.buf[: m.end()]
        text = m.group("text").decode("latin-1").strip()
        blink = "blink" in m.groupdict() and m.group("blink") == b"1"
        address = int(m.group("address")) if "address" in m.groupdict() else 0
        return Shown(address, text, blink), b""


def make_protocol(device: object) -> BoardProtocol:
    """The protocol a LedDevice config names."""
    name = getattr(device, "protocol")
    digits = getattr(device, "digits")
    if name == "modbus":
        return ModbusRTU(digits)
    if name == "ascii":
        return AsciiTemplate(digits, getattr(device, "template"), getattr(device, "counter", None))
    raise ValueError(f"unknown LED protocol {name!r} (known: {', '.join(PROTOCOLS)})")


PROTOCOLS: tuple[str, ...] = ("modbus", "ascii")
