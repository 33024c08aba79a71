"""`motcua devices`: what is plugged in, and the config lines that would use it.

Everything is read from sysfs (no device is opened, so it works as any user and while
the daemons hold the devices); `--sysfs`/`--dev` point at another tree, for example a
copy taken from an office machine for offline diagnosis.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.config import OfficeConfig

log = logging.getLogger(__name__)

KEY_Z_ROW = (16, 25)  # KEY_Q..KEY_P: a full keyboard has letter keys
KEY_ENTER, KEY_KPENTER = 28, 96
TOP_DIGITS = range(2, 12)                            # KEY_1 .. KEY_0
PAD_DIGITS = (71, 72, 73, 75, 76, 77, 79, 80, 81, 82)  # KEY_KP7 .. KEY_KP0
EV_KEY = 1


@dataclass
class Found:
    """One plugged-in device and what motcua would call it."""

    kind: str                 # printer | serial | input | camera
    node: str                 # /dev/... path
    usb: str | None = None    # VID:PID
    name: str = ""
    serial: str | None = None
    usb_path: str | None = None   # physical port, e.g. 1-1.2 (stable while in the same socket)
    stable: str | None = None     # a /dev/.../by-id or by-path name, when there is one
    extra: dict[str, str] = field(default_factory=dict)
    configured_as: str | None = None

    @property
    def path(self) -> str:
        return self.stable or self.node


def _read(p: Path) -> str | None:
    try:
        return p.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _usb_parent(start: Path, sysfs: Path) -> Path | None:
    """The USB device folder (the one with idVendor) above a sysfs node, or None."""
    p = start
    root = sysfs.resolve()
    while p != p.parent and root in p.parents:
        if (p / "idVendor").is_file():
            return p
        p = p.parent
    return None


def _usb_info(dev: Path | None) -> dict[str, str | None]:
    if dev is None:
        return {"usb": None, "name": "", "serial": None, "usb_path": None}
    vid, pid = _read(dev / "idVendor"), _read(dev / "idProduct")
    name = " ".join(x for x in (_read(dev / "manufacturer"), _read(dev / "product")) if x)
    return {"usb": f"{vid}:{pid}".lower() if vid and pid else None, "name": name,
            "serial": _read(dev / "serial"), "usb_path": dev.name}


def _by_links(dev_root: Path, folders: tuple[str, ...]) -> dict[str, str]:
    """Map of real node name (ttyUSB0, event3) -> the first stable symlink naming it."""
    out: dict[str, str] = {}
    for folder in folders:
        d = dev_root / folder
        if not d.is_dir():
            continue
        for link in sorted(d.iterdir()):
            try:
                target = os.readlink(link)
            except OSError:
                continue
            out.setdefault(Path(target).name, str(Path("/dev") / folder / link.name))
    return out


def scan_serial(sysfs: Path, dev: Path) -> list[Found]:
    links = _by_links(dev, ("serial/by-id", "serial/by-path"))
    out = []
    cls = sysfs / "class/tty"
    for entry in sorted(cls.iterdir()) if cls.is_dir() else []:
        if not (entry / "device").exists():
            continue  # virtual consoles, ptys
        name = entry.name
        if name.startswith("ttyS") and _read(entry / "type") in (None, "0"):
            continue  # an 8250 slot with no UART behind it
        usbdev = _usb_parent((entry / "device").resolve(), sysfs)
        info = _usb_info(usbdev)
        driver = (entry / "device/driver")
        out.append(Found("serial", f"/dev/{name}", stable=links.get(name),
                         extra={"driver": Path(os.readlink(driver)).name} if driver.is_symlink() else {},
                         **info))
    return out


def scan_printers(sysfs: Path, dev: Path) -> list[Found]:
    """USB devices with a printer-class (07) interface, and usblp nodes."""
    out: dict[str, Found] = {}
    lp_nodes: dict[str, str] = {}
    misc = sysfs / "class/usbmisc"
    for entry in sorted(misc.iterdir()) if misc.is_dir() else []:
        if entry.name.startswith("lp"):
            usbdev = _usb_parent((entry / "device").resolve(), sysfs)
            if usbdev is not None:
                lp_nodes[usbdev.name] = f"/dev/usb/{entry.name}"
    bus = sysfs / "bus/usb/devices"
    for entry in sorted(bus.iterdir()) if bus.is_dir() else []:
        if ":" not in entry.name or _read(entry / "bInterfaceClass") != "07":
            continue
        usbdev = _usb_parent(entry.resolve(), sysfs)
        if usbdev is None or usbdev.name in out:
            continue
        info = _usb_info(usbdev)
        node = lp_nodes.get(usbdev.name)
        if node is None:
            busnum, devnum = _read(usbdev / "busnum") or "", _read(usbdev / "devnum") or ""
            node = f"/dev/bus/usb/{int(busnum):03d}/{int(devnum):03d}" if busnum.isdigit() and devnum.isdigit() else "?"
        out[usbdev.name] = Found("printer", node, **info)
    return list(out.values())


def _bitmap(text: str | None) -> int:
    """sysfs capability bitmaps: hex words, most significant first."""
    value = 0
    for word in (text or "").split():
        value = (value << (64 if len(word) > 8 else 32)) | int(word, 16)
    return value


def scan_inputs(sysfs: Path, dev: Path) -> list[Found]:
    """Keyboard-like input devices: HID barcode readers and counter keypads."""
    links = _by_links(dev, ("input/by-id", "input/by-path"))
    out = []
    cls = sysfs / "class/input"
    for entry in sorted(cls.iterdir()) if cls.is_dir() else []:
        if not entry.name.startswith("event"):
            continue
        inp = (entry / "device").resolve()
        keys = _bitmap(_read(inp / "capabilities/key"))
        has = lambda codes: all((keys >> k) & 1 for k in codes)  # noqa: E731
        if not (_bitmap(_read(inp / "capabilities/ev")) >> EV_KEY) & 1:
            continue
        if not ((has([KEY_ENTER]) and has(TOP_DIGITS)) or (has([KEY_KPENTER]) and has(PAD_DIGITS))):
            continue  # mice, power buttons, media keys: no digits and Enter
        letters = has(range(KEY_Z_ROW[0], KEY_Z_ROW[1] + 1))
        usbdev = _usb_parent(inp, sysfs)
        info = _usb_info(usbdev)
        if not info["usb"]:
            vid, pid = _read(inp / "id/vendor"), _read(inp / "id/product")
            if vid and pid and _read(inp / "id/bustype") == "0003":
                info["usb"] = f"{vid}:{pid}".lower()
        info["name"] = _read(inp / "name") or info["name"]
        out.append(Found("input", f"/dev/input/{entry.name}", stable=links.get(entry.name),
                         extra={"keys": "full keyboard" if letters else "keypad"}, **info))
    return out


def scan_cameras(sysfs: Path, dev: Path) -> list[Found]:
    links = _by_links(dev, ("v4l/by-id", "v4l/by-path"))
    out = []
    cls = sysfs / "class/video4linux"
    for entry in sorted(cls.iterdir(), key=lambda p: (len(p.name), p.name)) if cls.is_dir() else []:
        if not entry.name.startswith("video") or _read(entry / "index") not in (None, "0"):
            continue  # metadata nodes of the same camera
        usbdev = _usb_parent((entry / "device").resolve(), sysfs)
        info = _usb_info(usbdev)
        info["name"] = _read(entry / "name") or info["name"]
        out.append(Found("camera", f"/dev/{entry.name}", stable=links.get(entry.name),
                         extra={"index": entry.name.removeprefix("video")}, **info))
    return out


def scan(sysfs: Path = Path("/sys"), dev: Path = Path("/dev")) -> list[Found]:
    return (scan_printers(sysfs, dev) + scan_serial(sysfs, dev) + scan_inputs(sysfs, dev)
            + scan_cameras(sysfs, dev))


# ------------------------------------------------------------------ config lines


def match_config(found: list[Found], cfg: OfficeConfig) -> list[str]:
    """Mark which configured device uses each found one; return configured devices not found."""
    missing = []
    for d in cfg.devices:
        backend = getattr(d, "backend", None)
        if backend in (None, "virtual", "wav", "pygame", "file", "screen", "network"):
            continue
        hit = None
        usb = (getattr(d, "usb", None) or "").lower()
        port = getattr(d, "port", None) or getattr(d, "path", None)
        for f in found:
            if usb and f.usb == usb and f.kind in ("printer", "input"):
                hit = f
            elif port and port in (f.node, f.stable, f"/dev/motcua/{d.id}"):
                hit = f
            elif d.kind == "camera" and getattr(d, "source", None) == f.extra.get("index") and f.kind == "camera":
                hit = f
            if hit:
                break
        if hit is not None:
            hit.configured_as = d.id
        else:
            missing.append(f"{d.id} ({d.kind}, backend {backend}: {usb or port or getattr(d, 'source', '')})")
    return missing


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def suggested_kind(f: Found) -> str:
    if f.kind == "serial":
        return "led"
    if f.kind == "input":
        return "keypad" if f.extra.get("keys") == "keypad" else "scanner"
    return f.kind


def config_block(f: Found, device_id: str) -> str:
    """A ready-to-paste [[devices]] block for one found device."""
    lines = ["[[devices]]"]
    kind = suggested_kind(f)
    if kind == "led":
        lines.append("# a serial line: an LED board here; a keypad, scanner or printer takes the same port =")
    elif kind == "scanner":
        lines.append('# a keyboard-like reader; for a counter keypad use kind = "keypad", backend = "evdev"')
    lines += [f"id = {_toml_str(device_id)}", f"kind = {_toml_str(kind)}"]
    if kind == "printer":
        lines += ['backend = "usb"', f"usb = {_toml_str(f.usb or '')}"]
    elif kind == "led":
        lines += ['backend = "serial"', "counter = 1", f"port = {_toml_str(f.path)}"]
    elif kind in ("keypad", "scanner"):
        lines += ['backend = "evdev"', "counter = 1"] if kind == "keypad" else ['backend = "hid"']
        lines.append(f"path = {_toml_str(f.stable)}" if f.stable else f"usb = {_toml_str(f.usb or '')}")
    elif kind == "camera":
        lines += ['backend = "opencv"', f"source = {_toml_str(f.extra.get('index', '0'))}"]
    return "\n".join(lines)


def udev_rule(f: Found) -> str | None:
    """A rule giving a serial adapter a fixed /dev/motcua/ name (by serial number or USB port)."""
    if f.kind != "serial" or not f.usb:
        return None
    vid, pid = f.usb.split(":")
    which = f'ATTRS{{serial}}=="{f.serial}"' if f.serial else f'KERNELS=="{f.usb_path}"'
    return (f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", {which}, '
            f'SYMLINK+="motcua/line-{(f.serial or f.usb_path or "x").replace(":", "_")}"')


def render(found: list[Found], missing: list[str] | None = None, taken: set[str] | None = None) -> str:
    """The table, the devices configured but absent, and config blocks for the rest."""
    out = []
    if not found:
        out.append("No printer, serial port, keyboard-like reader or camera found.")
    else:
        out.append(f"{'KIND':8} {'NODE':14} {'USB':10} {'NAME':34} STABLE NAME / CONFIG")
        for f in found:
            tail = f.stable or ""
            if f.configured_as:
                tail = f"{tail}  = {f.configured_as}".strip()
            out.append(f"{f.kind:8} {f.node:14} {f.usb or '-':10} {f.name[:34]:34} {tail}")
    if missing:
        out.append("")
        out.append("Configured but not found:")
        out.extend(f"  {m}" for m in missing)
    new = [f for f in found if not f.configured_as]
    if new:
        out.append("")
        out.append("# ---- config lines for what is plugged in (paste into the office TOML, fix ids/counters) ----")
        used = set(taken or ())
        for f in new:
            n = 1
            while f"{suggested_kind(f)}-{n}" in used:
                n += 1
            used.add(f"{suggested_kind(f)}-{n}")
            out.append(config_block(f, f"{suggested_kind(f)}-{n}"))
            out.append("")
        rules = [r for f in new if (r := udev_rule(f))]
        if rules:
            out.append("# ---- udev rules for fixed serial names (/etc/udev/rules.d/72-motcua-local.rules) ----")
            out.extend(f"# {r}" for r in rules)
    return "\n".join(out).rstrip() + "\n"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua devices",
                                 description="List plugged-in printers, serial ports, input devices and cameras, "
                                             "with ready-to-paste config lines.")
    ap.add_argument("config", nargs="?", help="office TOML: mark configured devices and list missing ones")
    ap.add_argument("--sysfs", default="/sys", help="sysfs tree to read (default /sys)")
    ap.add_argument("--dev", default="/dev", help="device tree for by-id/by-path names (default /dev)")
    ap.add_argument("--json", action="store_true", help="print JSON instead")
    return ap


def cli_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    sysfs, dev = Path(args.sysfs), Path(args.dev)
    if not (sysfs / "class").is_dir():
        print(f"motcua devices: {sysfs} is not a sysfs tree (no class/ folder)", file=sys.stderr)
        return 2
    found = scan(sysfs, dev)
    missing: list[str] | None = None
    taken: set[str] = set()
    if args.config:
        from edge.tools import load_config
        cfg = load_config(args.config, "motcua devices")
        if cfg is None:
            return 1
        missing = match_config(found, cfg)
        taken = {d.id for d in cfg.devices}
    if args.json:
        print(json.dumps({"found": [asdict(f) for f in found], "missing": missing or []},
                         ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(render(found, missing, taken))
    return 0
