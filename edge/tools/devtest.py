"""`motcua test KIND --device ID CONFIG`: exercise one device directly, without the office.

Each test drives the device through its package's own backend (the same code the daemon
uses), so a pass means the wiring, permissions and settings in the config are right.
Stop the device's daemon first (`systemctl stop motcua-KIND@ID`): ports are opened
exclusively. Packages are imported only when their test runs, so a build without one
(or without its driver library) says so clearly instead of failing at start.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edge.clock import Clock
from edge.config import OfficeConfig

log = logging.getLogger(__name__)

KINDS = ("printer", "led", "voice", "scanner", "camera")


class DeviceTestFailed(Exception):
    """The device did not do what the test asked (message says what to check)."""


class BackendMissing(Exception):
    """This build has no code (or no driver library) for the device's backend."""


@dataclass
class TestRun:
    """What a test needs: the office, the device, where to put its output, the options."""

    __test__ = False  # not a pytest class

    cfg: OfficeConfig
    device: Any
    out_dir: Path
    text: str | None = None
    timeout: float = 15.0
    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def _need(module: str, what: str) -> Any:
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendMissing(f"{what} is not available in this build ({exc})") from None


# ------------------------------------------------------------------ LED board


def test_led(run: TestRun) -> None:
    """Show 8888 (or --text) on the board, checking the board's answer when it gives one."""
    dev = run.device
    protocols = _need("display.led.protocols", "the LED board driver (display.led)")
    proto = protocols.make_protocol(dev)
    text = run.text if run.text is not None else "8" * dev.digits
    if getattr(dev, "board", "counter") == "hall":  # the hall text board (display/led/hall.py)
        proto = _need("display.led.hall", "the hall board driver (display.led)").hall_protocol(dev)
        text = run.text if run.text is not None else "Mời số 2005 đến quầy 3"
    try:
        text = proto.check_text(text)
    except ValueError as exc:
        raise DeviceTestFailed(str(exc)) from None
    import serial
    sim = pty = None
    path = dev.port
    if dev.backend == "virtual":
        virtual = _need("display.led.virtual", "the virtual LED board")
        pty = virtual.PtyPair()
        sim = virtual.SimulatedBoards(pty.master, proto, name=dev.id, out_dir=run.out_dir).start()
        path = pty.path
    elif not path:
        raise DeviceTestFailed(f"{dev.id}: backend serial needs port = \"/dev/...\" in the config")
    try:
        try:
            port = serial.Serial(path, dev.baudrate, bytesize=8, parity="N", stopbits=1,
                                 timeout=1.0, write_timeout=1.0, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            raise DeviceTestFailed(f"cannot open {path}: {exc} (is motcua-led running? is the user in dialout?)") from None
        with port:
            frame = proto.frame(dev.address, text)
            port.write(frame)
            port.flush()
            run.say(f"{dev.id}: sent {len(frame)} bytes ({dev.protocol}, address {dev.address}) on {path}: {frame.hex(' ')}")
            if proto.expects_reply(dev.address):
                try:
                    proto.read_reply(port.read, frame)
                except protocols.BoardError as exc:
                    raise DeviceTestFailed(f"board {dev.address} did not confirm: {exc} "
                                           "(check A/B wiring, address, baud rate, protocol)") from None
                run.say(f"{dev.id}: board {dev.address} confirmed")
            else:
                run.say(f"{dev.id}: this protocol has no answer: look at the board, it should show {text!r}")
        if sim is not None:
            end = time.monotonic() + run.timeout
            while time.monotonic() < end and (sim.shown(dev.address) is None or sim.shown(dev.address).text != text):
                time.sleep(0.02)
            shown = sim.shown(dev.address)
            if shown is None or shown.text != text:
                raise DeviceTestFailed(f"the virtual board shows {shown.text if shown else None!r}, not {text!r}")
            run.say(f"{dev.id}: virtual board shows {text!r} (picture in {run.out_dir})")
    finally:
        if sim is not None:
            sim.stop()
        if pty is not None:
            pty.close()


# ------------------------------------------------------------------ voice


def test_voice(run: TestRun) -> None:
    """Say a test announcement (ticket --text or 1234 to the device's counter)."""
    dev = run.device
    pack_mod = _need("display.voice.pack", "the voice package (display.voice)")
    announce = _need("display.voice.announce", "the voice package (display.voice)")
    players = _need("display.voice.players", "the voice players")
    data_dir = run.out_dir.parent.parent
    pack_dir = Path(dev.pack) if dev.pack else pack_mod.default_pack_dir(data_dir)
    try:
        pack = pack_mod.VoicePack.load(pack_dir)
    except pack_mod.PackError as exc:
        raise DeviceTestFailed(f"no usable voice pack at {pack_dir}: {exc} "
                               f"(build one: motcua voice build {pack_dir})") from None
    call = announce.Call(number=run.text or "1234", counter=dev.counter or 1)
    segments = announce.script(call, dev.dialect, dev.digit_by_digit)
    ann = announce.render(pack, segments, 1, call)
    if ann.missing:
        run.say(f"{dev.id}: the pack has no clip for: {', '.join(ann.missing)}")
    kwargs = {"output_dir": run.out_dir} if dev.backend == "wav" else {}
    try:
        player = players.create_player(dev.backend, **kwargs)
        player.open(pack.rate)
        try:
            extra = player.play(ann, {"test": True, "number": call.number, "counter": call.counter})
        finally:
            player.close()
    except players.PlayerError as exc:
        raise DeviceTestFailed(f"cannot play: {exc} (is the sound card there? user in audio?)") from None
    said = " ".join(s.text for s in segments)
    run.say(f"{dev.id}: said \"{said}\" ({ann.duration_s:.1f} s, {dev.backend})"
            + (f" -> {extra['file']}" if extra.get("file") else ""))


# ------------------------------------------------------------------ scanner


def test_scanner(run: TestRun) -> None:
    """Wait for one code from the reader (scan any barcode or QR) and show it."""
    dev = run.device
    base = _need("scanner.base", "the scanner package")
    try:
        cls = base.reader_class(dev.backend)
    except ImportError as exc:
        raise BackendMissing(f"scanner backend {dev.backend!r} is not available in this build ({exc})") from None
    got: list[Any] = []
    states: list[tuple[Any, dict]] = []
    done = threading.Event()

    def on_read(read: Any) -> None:
        got.append(read)
        done.set()

    def on_state(state: Any, detail: dict) -> None:
        states.append((state, detail))
        if state == base.ReaderState.READY:
            run.say(f"{dev.id}: ready ({dev.backend}); scan a code within {run.timeout:.0f} s")

    kwargs: dict[str, Any] = {}
    if dev.backend in ("file", "virtual"):  # as the daemon: DATA/<device>/codes.txt when no path
        kwargs["default_path"] = run.out_dir.parent / "codes.txt"
        run.say(f"{dev.id}: append a code to {dev.path or kwargs['default_path']} "
                "(echo CODE >> FILE) or drop a receipt image in its folder")
    try:
        reader = cls(dev, on_read, on_state, **kwargs)
    except ValueError as exc:
        raise DeviceTestFailed(str(exc)) from None
    stop = threading.Event()
    thread = threading.Thread(target=reader.run, args=(stop,), name=f"test-{dev.id}", daemon=True)
    thread.start()
    try:
        done.wait(run.timeout)
    finally:
        stop.set()
        thread.join(timeout=3)
    if not got:
        last = states[-1] if states else None
        why = f"last state {last[0].value} {last[1] or ''}" if last else "the reader never started"
        raise DeviceTestFailed(f"no code within {run.timeout:.0f} s ({why})")
    r = got[0]
    run.say(f"{dev.id}: read {r.code!r} ({r.symbology}, {r.source})")


# ------------------------------------------------------------------ camera


def test_camera(run: TestRun) -> None:
    """Grab one frame through the camera package's frame source and save it as a PNG."""
    dev = run.device
    cv2 = _need("cv2", "OpenCV (opencv-python-headless)")
    sources = _need("scanner.camera.sources", "the camera package (scanner.camera)")
    try:
        source = sources.make_source(dev)
    except (KeyError, ValueError) as exc:
        raise DeviceTestFailed(f"{dev.id}: {exc}") from None
    try:
        source.open()
        frame, end = None, time.monotonic() + run.timeout
        while frame is None:
            try:
                frame = source.read()
            except sources.SourceError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
    except sources.SourceError as exc:
        raise DeviceTestFailed(f"{source.describe()}: {exc} (unplugged? user in video? RTSP URL?)") from None
    finally:
        source.close()
    run.out_dir.mkdir(parents=True, exist_ok=True)
    path = run.out_dir / f"frame-{Clock(run.cfg.office.tz).now():%Y%m%d-%H%M%S}.png"
    if not cv2.imwrite(str(path), frame):
        raise DeviceTestFailed(f"cannot write {path}")
    h, w = frame.shape[:2]
    run.say(f"{dev.id}: frame {w}x{h} from {source.describe()}, mean brightness {float(frame.mean()):.0f} -> {path}")


# ------------------------------------------------------------------ printer


def test_printer(run: TestRun) -> None:
    """Check the printer's status, then print a test ticket (Vietnamese lines, a big number, a QR)."""
    dev = run.device
    layout = _need("printer.layout", "the printer package")
    backends = _need("printer.backends", "the printer backends (printer.backends)")
    now = Clock(run.cfg.office.tz).now()
    info = layout.TicketInfo(office_name=run.cfg.office.name, number=run.text or "8888",
                             service_name="IN THỬ - Kiểm tra máy in", issued_at=now,
                             qr_data=f"motcua-test-{dev.id}", counters=("Quầy thử",),
                             footer="Đây là phiếu in thử, không có giá trị.")
    native_qr = dev.native_qr if dev.native_qr is not None else dev.backend != "virtual"
    data = layout.build_ticket(info, dev.paper_mm, native_qr=native_qr)
    try:
        backend = backends.create_backend(dev, run.out_dir)
    except ValueError as exc:
        raise DeviceTestFailed(str(exc)) from None
    hint = "(power, cable, address, permissions? is motcua-printer running?)"
    try:
        backend.open()
        before = backend.status()
        if before.problem:
            raise DeviceTestFailed(f"the printer reports {before.problem} ({before.detail()}): nothing printed")
        backend.write(data, f"test-{dev.id}-{now:%H%M%S}")
        after = backend.status()
    except backends.PrinterUnavailable as exc:
        raise DeviceTestFailed(f"{exc} {hint}") from None
    except ValueError as exc:
        raise DeviceTestFailed(str(exc)) from None
    finally:
        backend.close()
    where = f" -> {backend.output_dir}" if getattr(backend, "output_dir", None) else ""
    run.say(f"{dev.id}: sent a test ticket ({len(data)} bytes, {dev.backend}); "
            f"printer {after.detail()['printer']}, paper {after.paper}{where}")
    if after.paper == "unknown":
        run.say(f"{dev.id}: the printer does not report its paper: look at the ticket")
    elif after.paper == "low":
        run.say(f"{dev.id}: paper is running low")


TESTS: dict[str, Callable[[TestRun], None]] = {
    "printer": test_printer, "led": test_led, "voice": test_voice, "scanner": test_scanner, "camera": test_camera,
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua test", description="Exercise one device directly (stop its daemon first).")
    ap.add_argument("kind", choices=KINDS, help="device kind")
    ap.add_argument("config", help="office TOML file")
    ap.add_argument("--device", required=True, help="device id from the config")
    ap.add_argument("--data", default=None, help="data folder (default MOTCUA_DATA or var/office); output goes "
                                                  "to DATA/<device>/test")
    ap.add_argument("--text", default=None, help="what to show/say/print (LED: 8888, voice: 1234, printer: 8888)")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (scanner: for a scan)")
    return ap


def cli_main(argv: list[str]) -> int:
    from edge.daemon import default_data_dir
    from edge.tools import load_config
    args = build_parser().parse_args(argv)
    cfg = load_config(args.config, "motcua test")
    if cfg is None:
        return 1
    dev = cfg.device(args.device)
    if dev is None:
        print(f"motcua test: no device {args.device!r} in {args.config} "
              f"(devices: {', '.join(d.id for d in cfg.devices)})", file=sys.stderr)
        return 2
    if dev.kind != args.kind:
        print(f"motcua test: {dev.id} is a {dev.kind}, not a {args.kind}", file=sys.stderr)
        return 2
    data = Path(args.data) if args.data else default_data_dir()
    run = TestRun(cfg, dev, data / dev.id / "test", args.text, args.timeout)
    run.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        TESTS[args.kind](run)
    except BackendMissing as exc:
        print(f"motcua test {args.kind}: {exc}", file=sys.stderr)
        return 3
    except DeviceTestFailed as exc:
        print(f"LỖI / FAIL {dev.id}: {exc}", file=sys.stderr)
        return 1
    print(f"ĐẠT / PASS {dev.id}")
    return 0

