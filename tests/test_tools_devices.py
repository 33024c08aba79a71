"""`motcua devices` against a sysfs tree laid out like a real office PC's, and this machine's."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edge.config import load, loads
from edge.tools import devices as D
from harness import SMALL, copy_config

USB = "devices/pci0000:00/0000:00:14.0/usb1"


def bitmap(bits: set[int]) -> str:
    """Format a key bitmap the way the kernel prints capabilities/key (64-bit words)."""
    value = sum(1 << b for b in bits)
    words = []
    while value:
        words.append(value & (2**64 - 1))
        value >>= 64
    return " ".join(f"{w:x}" for w in reversed(words)) or "0"


def files(base: Path, **kv: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for k, v in kv.items():
        (base / k).write_text(v + "\n")
    return base


def link(at: Path, target: Path) -> None:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(os.path.relpath(target, at.parent))


def usb_device(sysfs: Path, name: str, vid: str, pid: str, product: str, serial: str | None = None,
               devnum: int = 2) -> Path:
    d = files(sysfs / USB / name, idVendor=vid, idProduct=pid, manufacturer="Vendor", product=product,
              busnum="1", devnum=str(devnum))
    if serial:
        files(d, serial=serial)
    link(sysfs / "bus/usb/devices" / name, d)
    return d


def input_node(sysfs: Path, usbdev: Path, event: str, name: str, keys: set[int]) -> None:
    intf = files(usbdev / f"{usbdev.name}:1.0", bInterfaceClass="03")
    inp = files(intf / "0003:05E0:1200.0001/input" / f"input{event}", name=name)
    files(inp / "capabilities", ev="120013", key=bitmap(keys))
    files(inp / "id", bustype="0003", vendor="05e0", product="1200")
    ev = files(inp / f"event{event}", dev=f"13:{64 + int(event)}")
    link(ev / "device", inp)
    link(sysfs / "class/input" / f"event{event}", ev)


@pytest.fixture
def office_pc(tmp_path: Path) -> tuple[Path, Path]:
    """Printer, two USB-serial adapters, a HID reader, a keypad, a mouse and a camera."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    # USB receipt printer with the usblp driver bound
    p = usb_device(sysfs, "1-1", "0416", "5011", "POS80 Printer", devnum=5)
    intf = files(p / "1-1:1.0", bInterfaceClass="07")
    link(sysfs / "bus/usb/devices/1-1:1.0", intf)
    lp = files(intf / "usbmisc/lp0", dev="180:0")
    link(lp / "device", intf)
    link(sysfs / "class/usbmisc/lp0", lp)
    # CH340 RS-485 adapter (no serial number) and an FTDI one (with one)
    for name, vid, pid, tty, serial in (("1-2", "1a86", "7523", "ttyUSB0", None),
                                        ("1-3", "0403", "6001", "ttyUSB1", "A10K3ZQ1")):
        u = usb_device(sysfs, name, vid, pid, "USB Serial", serial)
        port = files(u / f"{name}:1.0" / tty)
        node = files(port / "tty" / tty, dev="188:0")
        link(node / "device", port)
        link(sysfs / "class/tty" / tty, node)
    files(sysfs / "class/tty/tty0", dev="4:0")  # a virtual console: no device link
    s1 = files(sysfs / "devices/platform/serial8250/tty/ttyS1", type="0")  # empty 8250 slot
    link(s1 / "device", sysfs / "devices/platform/serial8250")
    link(sysfs / "class/tty/ttyS1", s1)
    # HID barcode reader (full keyboard), numeric keypad, mouse
    input_node(sysfs, usb_device(sysfs, "1-4", "05e0", "1200", "Symbol Bar Code Scanner"), "3",
               "Symbol Bar Code Scanner", set(range(1, 128)))
    input_node(sysfs, usb_device(sysfs, "1-5", "1c4f", "0043", "USB Keypad"), "4", "USB Keypad",
               {71, 72, 73, 75, 76, 77, 79, 80, 81, 82, 83, 96, 98, 55, 74, 78, 14})  # a numeric pad only
    input_node(sysfs, usb_device(sysfs, "1-7", "046d", "c077", "USB Optical Mouse"), "5", "Mouse", {272, 273})
    # webcam: capture node video0 and its metadata node video1
    cam = usb_device(sysfs, "1-6", "046d", "0825", "Webcam C270")
    cintf = files(cam / "1-6:1.0")
    for i in (0, 1):
        v = files(cintf / "video4linux" / f"video{i}", name="UVC Camera (046d:0825)", index=str(i))
        link(v / "device", cintf)
        link(sysfs / "class/video4linux" / f"video{i}", v)
    # /dev stable names
    link(dev / "serial/by-id/usb-FTDI_FT232R_USB_UART_A10K3ZQ1-if00-port0", dev / "ttyUSB1")
    link(dev / "input/by-id/usb-Symbol_Bar_Code_Scanner-event-kbd", dev / "input/event3")
    return sysfs, dev


def by_node(found: list[D.Found]) -> dict[str, D.Found]:
    return {f.node: f for f in found}


def test_scan_finds_every_kind_with_ids_and_stable_names(office_pc: tuple[Path, Path]) -> None:
    found = by_node(D.scan(*office_pc))
    assert set(found) == {"/dev/usb/lp0", "/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/input/event3",
                          "/dev/input/event4", "/dev/video0"}
    printer = found["/dev/usb/lp0"]
    assert (printer.kind, printer.usb, printer.name) == ("printer", "0416:5011", "Vendor POS80 Printer")
    assert found["/dev/ttyUSB0"].usb == "1a86:7523" and found["/dev/ttyUSB0"].usb_path == "1-2"
    ftdi = found["/dev/ttyUSB1"]
    assert ftdi.serial == "A10K3ZQ1" and ftdi.stable == "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K3ZQ1-if00-port0"
    reader = found["/dev/input/event3"]
    assert reader.extra["keys"] == "full keyboard" and reader.stable.endswith("Symbol_Bar_Code_Scanner-event-kbd")
    assert found["/dev/input/event4"].extra["keys"] == "keypad"
    assert found["/dev/video0"].extra["index"] == "0" and found["/dev/video0"].usb == "046d:0825"


def test_printed_config_blocks_are_valid_config(office_pc: tuple[Path, Path]) -> None:
    found = D.scan(*office_pc)
    cfg = load(SMALL)
    text = D.render(found, [], {d.id for d in cfg.devices})
    blocks = text.split("# ---- config lines")[1].split("# ---- udev rules")[0]
    merged = loads(SMALL.read_text(encoding="utf-8") + "\n# from motcua devices\n" + blocks.split("\n", 1)[1])
    new = {d.id for d in merged.devices} - {d.id for d in cfg.devices}
    assert new == {"printer-2", "led-2", "led-3", "scanner-2", "keypad-2", "camera-2"}
    assert merged.device("printer-2").usb == "0416:5011"
    assert merged.device("led-3").port == "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K3ZQ1-if00-port0"
    assert merged.device("scanner-2").path.startswith("/dev/input/by-id/")
    assert merged.device("keypad-2").usb == "1c4f:0043"
    # a fixed name for the serial adapters: by serial number when there is one, else by USB port
    assert 'ATTRS{serial}=="A10K3ZQ1"' in text and 'KERNELS=="1-2"' in text


def test_config_matching_marks_configured_and_lists_missing(office_pc: tuple[Path, Path], tmp_path: Path) -> None:
    path = copy_config(tmp_path, replace={
        'id = "printer-1"\nkind = "printer"\nbackend = "virtual"':
            'id = "printer-1"\nkind = "printer"\nbackend = "usb"\nusb = "0416:5011"',
        'id = "led-1"\nkind = "led"': 'id = "led-1"\nkind = "led"\nbackend = "serial"\nport = "/dev/ttyUSB0"',
        'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"':
            'id = "scanner-1"\nkind = "scanner"\nbackend = "hid"\npath = "/dev/input/by-id/usb-Honeywell-event-kbd"',
    })
    found = D.scan(*office_pc)
    missing = D.match_config(found, load(path))
    nodes = by_node(found)
    assert nodes["/dev/usb/lp0"].configured_as == "printer-1"
    assert nodes["/dev/ttyUSB0"].configured_as == "led-1"
    assert missing == ["scanner-1 (scanner, backend hid: /dev/input/by-id/usb-Honeywell-event-kbd)"]
    text = D.render(found, missing)
    assert "= printer-1" in text and "Configured but not found:" in text
    assert 'usb = "0416:5011"' not in text  # no new block for what is already configured


def test_cli_json_and_bad_tree(office_pc: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sysfs, dev = office_pc
    assert D.cli_main(["--sysfs", str(sysfs), "--dev", str(dev), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(f["kind"] for f in data["found"]) == ["camera", "input", "input", "printer", "serial", "serial"]
    assert D.cli_main(["--sysfs", str(tmp_path / "nothing")]) == 2
    assert "is not a sysfs tree" in capsys.readouterr().err


def test_empty_tree_and_this_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sys/class").mkdir(parents=True)
    assert D.cli_main(["--sysfs", str(tmp_path / "sys"), "--dev", str(tmp_path)]) == 0
    assert "No printer, serial port" in capsys.readouterr().out
    # the real /sys of this machine: whatever it has, the tool reads it without error
    assert D.cli_main([str(SMALL)]) == 0
