"""Per-kind device configuration: one model per device kind, selected by `kind`.

Each model names its backend (a real driver or `virtual`) and the few settings that
backend needs; device packages read these and nothing else.
"""
from __future__ import annotations

import re
import string
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class DeviceBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Device id, unique in the office; its MQTT username")
    host: str = Field("local", description="Host whose `motcua run` starts this device's daemon")
    counter: int | None = Field(None, description="Counter the device belongs to")
    area: str | None = Field(None, description="Area of the floor (entrance, waiting, ...)")
    enabled: bool = Field(True, description="Start this device's daemon")


class PrinterDevice(DeviceBase):
    kind: Literal["printer"] = Field(description="Thermal ticket printer")
    backend: Literal["usb", "serial", "network", "file", "virtual"] = Field("virtual", description="How the printer is reached")
    usb: str | None = Field(None, pattern=r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$", description="USB vendor:product, e.g. 0416:5011")
    port: str | None = Field(None, description="Serial port, e.g. /dev/motcua-printer")
    baudrate: int = Field(115200, description="Serial speed")
    address: str | None = Field(None, description="host[:port] of a network printer (default port 9100)")
    path: str | None = Field(None, description="File backend: device file or output file")
    output_dir: str | None = Field(None, description="Virtual backend: folder for ticket PNGs (default DATA/tickets)")
    paper_mm: Literal[58, 80] = Field(80, description="Paper width")
    profile: str = Field("default", description="python-escpos printer profile, e.g. TM-T88V")
    native_qr: bool | None = Field(None, description="Use the printer's QR engine (None: from the profile)")
    max_job_age_s: int = Field(600, ge=10, description="Jobs older than this are dropped instead of printed")
    flow_control: Literal["dsrdtr", "rtscts", "xonxoff", "none"] = Field("dsrdtr", description="Serial flow control")
    poll_s: float = Field(2, gt=0, le=60, description="Seconds between printer status polls")


class KioskDevice(DeviceBase):
    kind: Literal["kiosk"] = Field(description="Touch kiosk")
    mode: Literal["ticket", "lookup", "procedures"] = Field("ticket", description="ticket: issues queue tickets; lookup: dossier lookup; procedures: procedure guide (kiosk/procedures.py)")
    printer: str | None = Field(None, description="Printer device id (ticket mode; procedures mode: checklists and tickets)")
    scanner: str | None = Field(None, description="Scanner device id (lookup mode; ticket mode: receipts scanned for the right ticket)")
    services: list[str] | None = Field(None, description="Service codes offered (default: all)")
    width: int = Field(1080, ge=240, description="Screen width in pixels")
    height: int = Field(1920, ge=240, description="Screen height in pixels")
    fullscreen: bool = Field(True, description="Fullscreen window")
    idle_timeout_s: float = Field(15, ge=2, description="Back to the home screen after this")
    ask_priority: bool = Field(True, description="Offer the priority choice")
    print_timeout_s: float = Field(8, gt=0, le=60, description="Wait this long for the printer to confirm a ticket")
    issue_timeout_s: float = Field(1.5, gt=0, le=30, description="Wait this long for the engine per issue attempt (retried once with the same id)")
    return_service: str | None = Field(None, description="Ticket mode with a scanner: service code of the 'Nhận kết quả' ticket offered for a receipt whose result is ready")
    supplement_service: str | None = Field(None, description="Ticket mode with a scanner: service code of the 'Bổ sung hồ sơ' ticket when the dossier's field is not in supplement_services")
    supplement_services: dict[str, str] = Field(default_factory=dict, description="Upstream field name (TenLinhVuc) -> service code that takes the missing documents of its dossiers")
    lookup_timeout_s: float = Field(2, gt=0, le=30, description="Ticket mode with a scanner: wait this long for the hub per receipt lookup (retried once with the same id)")


class LedDevice(DeviceBase):
    kind: Literal["led"] = Field(description="LED counter number board on an RS-485 line")
    backend: Literal["serial", "virtual"] = Field("virtual", description="serial: a real line; virtual: a simulated board on a pty")
    port: str | None = Field(None, description="Serial port of the RS-485 adapter")
    baudrate: int = Field(9600, description="Line speed")
    protocol: Literal["modbus", "ascii"] = Field("modbus", description="Board protocol")
    address: int = Field(1, ge=0, le=255, description="Board address on the line")
    template: str = Field("\x02{address:02d}{text}\x03", description="ASCII protocol frame template; fields {address} {counter} {text} {blink} {xor}")
    digits: int = Field(4, ge=1, le=16, description="Digits on the board")
    blink_s: float = Field(3, ge=0, description="Blink this long on a new call (0: never)")
    board: Literal["counter", "hall"] = Field("counter", description="counter: a counter's number board; hall: the office-wide text board scrolling the latest calls and the notice (display/led/hall.py)")
    charset: Literal["ascii", "utf-8"] = Field("ascii", description="hall: what the board's font shows; ascii boards get Vietnamese without marks (đ -> d)")
    chars: int = Field(160, ge=16, le=2000, description="hall: most characters in one message")
    calls_shown: int = Field(3, ge=1, le=10, description="hall: latest calls in the message")
    scroll_cps: float = Field(0, ge=0, le=20, description="hall: 0 when the board scrolls by itself; else the daemon scrolls a `window` of the text this many characters a second")
    window: int = Field(16, ge=4, le=200, description="hall, with scroll_cps: characters the board shows at once")

    @model_validator(mode="after")
    def _led(self) -> "LedDevice":
        if self.board == "hall":
            if self.protocol != "ascii":
                raise ValueError("a hall board takes text frames: set protocol = \"ascii\" and its `template`")
            try:
                parts = list(string.Formatter().parse(self.template))
            except ValueError as exc:
                raise ValueError(f"template {self.template!r}: {exc}") from None
            fields = [f for _, f, _, _ in parts if f is not None]
            k = next((i for i, p in enumerate(parts) if p[1] == "text"), -1)
            if set(fields) - {"address", "text", "xor"} or k < 0 or not any(p[0] for p in parts[k + 1:]):
                raise ValueError(f"template {self.template!r}: a hall board's template needs {{text}} followed by "
                                 "an end marker (e.g. \\x03) and may use only {address} {text} {xor}")
            return self
        if self.counter is None:
            raise ValueError("an LED board needs the `counter` it shows")
        if self.backend == "serial" and not self.port:
            raise ValueError("backend 'serial' needs `port` (the RS-485 adapter, e.g. /dev/ttyUSB0)")
        if self.protocol == "ascii":
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None}
            except ValueError as exc:
                raise ValueError(f"template {self.template!r}: {exc}") from None
            unknown = fields - {"address", "counter", "text", "blink", "xor"}
            if unknown or "text" not in fields:
                raise ValueError(f"template {self.template!r} needs {{text}} and may use only "
                                 "{address} {counter} {text} {blink} {xor}")
        return self


class DisplayDevice(DeviceBase):
    kind: Literal["display"] = Field(description="Waiting-room TV or dossier status board")
    mode: Literal["calling", "dossiers", "information", "presence", "cameras"] = Field("calling", description="calling: queue board; dossiers: status board; cameras: camera monitor; information: slides (display/information.py); presence: in/out board of the officials (display/presence.py)")
    width: int = Field(1920, ge=320, description="Screen width")
    height: int = Field(1080, ge=240, description="Screen height")
    fullscreen: bool = Field(True, description="Fullscreen window")
    highlight_s: float = Field(6, ge=0, description="The latest call blinks this long")
    counters: list[int] | None = Field(None, description="calling: counters shown (default all; one zone's TV in a large centre)")
    zones: list[str] | None = Field(None, description="calling: show the counters of these zones (added to `counters`)")
    floors: list[int] | None = Field(None, description="calling: show the counters on these floors (added to `counters` and `zones`)")
    page_s: float = Field(10, ge=3, le=120, description="calling: when the counters need more than one page of readable tiles, each page shows this long")
    english: bool = Field(False, description="calling: English subtitles under the Vietnamese headings")
    scroll_px_s: int = Field(120, ge=10, le=2000, description="calling: notice scroll speed, pixels per second")
    scroll_fps: int = Field(20, ge=1, le=60, description="calling: notice scroll steps per second (CPU cost)")
    roster: list[str] = Field(default_factory=list, description="presence: officials expected at work (names as they sign in at the counter); those not signed in today are shown away")
    content_dir: str | None = Field(None, description="information: folder of slides (images, PDF, .txt notices; subfolders named in `schedule`), default DATA/<id>/content")
    schedule: dict[str, str] = Field(default_factory=dict, description="information: time span -> subfolder shown then, e.g. {\"07:00-11:30\" = \"sang\"}; the folder itself is shown at other times")
    slide_s: float = Field(10, ge=2, le=600, description="information: seconds each slide stays")
    transition: Literal["fade", "slide", "none"] = Field("fade", description="information: how one slide gives way to the next")
    transition_s: float = Field(0.8, ge=0, le=5, description="information: length of a transition")
    procedure_cards: int = Field(6, ge=0, le=50, description="information: procedure cards from the catalogue in each round of slides")
    screenshot_s: float | None = Field(None, ge=0, description="calling: save the screen to DATA/<id>/screen.png this often when it changed (None: every 5 s only without a visible screen, e.g. SDL dummy driver; 0: never)")
    cameras: list[str] | None = Field(None, description="cameras: camera device ids in tile order (default every camera of the office)")
    monitor_fps: float = Field(5, gt=0, le=30, description="cameras: repaints per second at most (CPU cost)")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: dict[str, str]) -> dict[str, str]:
        for span, folder in v.items():
            m = re.match(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$", span.strip())
            if not m or not (int(m[1]) < 24 and int(m[3]) <= 24 and int(m[2]) < 60 and int(m[4]) < 60) \
                    or (int(m[3]), int(m[4])) <= (int(m[1]), int(m[2])):
                raise ValueError(f"schedule: {span!r} is not a span within one day like \"07:00-11:30\"")
            if not folder or "/" in folder or folder.startswith("."):
                raise ValueError(f"schedule: {folder!r} must be the name of a subfolder of content_dir")
        return v


class VoiceDevice(DeviceBase):
    kind: Literal["voice"] = Field(description="Announcement speaker")
    backend: Literal["pygame", "wav"] = Field("wav", description="pygame: the sound card; wav: write each announcement to a file")
    pack: str | None = Field(None, description="Voice pack folder (default DATA/voice, built with espeak-ng)")
    output_dir: str | None = Field(None, description="wav backend: folder for announcements")
    dialect: Literal["north", "south"] = Field("north", description="Number words: north (linh, nghìn) or south (lẻ, ngàn)")
    digit_by_digit: bool = Field(False, description="Read numbers digit by digit")
    four_word: Literal["tư", "bốn"] = Field("tư", description="A final 4 after 'mươi': hai mươi tư or hai mươi bốn")
    repeat: int = Field(2, ge=1, le=5, description="Times each announcement is said")
    chime: Literal["each", "once", "none"] = Field("each", description="The chime before every repetition, only the first, or never")
    max_delay_s: float = Field(120, ge=5, description="A call still unannounced this long after it arrived is dropped (reported), not said late")
    max_files: int = Field(500, ge=1, description="wav backend: newest announcements kept in output_dir")
    counters: list[int] | None = Field(None, description="Counters this speaker announces (default all; one floor's speaker in a large centre)")
    zones: list[str] | None = Field(None, description="Announce the counters of these zones (added to `counters`)")
    floors: list[int] | None = Field(None, description="Announce the counters on these floors (added to `counters` and `zones`)")
    shorten_after_s: float = Field(20, ge=0, description="When the calls waiting behind one would take longer than this to say in full (or it is already this late), it is said once")
    chime_gap_s: float = Field(4, ge=0, description="The chime plays only after this much silence: back-to-back calls go without it")
    terse_after_s: float = Field(45, ge=0, description="Beyond this backlog of full speech (or this late), calls take the shortest form: 'xin mời số … đến quầy …', once")
    pace: bool = Field(True, description="wav backend: take as long as the speech would (in office time, so a simulated clock at x10 waits a tenth), so the backlog is real")


class ScannerDevice(DeviceBase):
    kind: Literal["scanner"] = Field(description="Barcode reader")
    backend: Literal["hid", "serial", "camera", "file", "virtual"] = Field("virtual", description="How codes arrive")
    path: str | None = Field(None, description="HID: /dev/input/by-id/... path; file/virtual: a file or FIFO of codes (one a line) or a folder of receipt images (virtual default: DATA/<id>/codes.txt)")
    usb: str | None = Field(None, pattern=r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$", description="HID: vendor:product when no path")
    port: str | None = Field(None, description="Serial port")
    baudrate: int = Field(9600, description="Serial speed")
    source: str | None = Field(None, description="Camera: device index, RTSP URL or video file")
    repeat_window_s: float = Field(2, ge=0, description="Repeats of one code within this window are dropped")
    decoder: Literal["zxingcpp+regions", "zxingcpp+pyzbar+deskew", "zxingcpp+deskew", "pyzbar+deskew", "zxingcpp", "pyzbar", "zxingcpp+pyzbar"] | None = Field(
        None, description="Camera and image-folder backends: barcode decoder (default from bench/decode.py, see docs/scanners.md)")


class KeypadDevice(DeviceBase):
    kind: Literal["keypad"] = Field(description="Counter keypad for the clerk")
    backend: Literal["evdev", "serial", "screen", "virtual"] = Field("virtual", description="How keys arrive")
    path: str | None = Field(None, description="evdev: /dev/input/by-id/... path")
    usb: str | None = Field(None, pattern=r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$", description="evdev: vendor:product when no path")
    port: str | None = Field(None, description="Serial port")
    baudrate: int = Field(9600, description="Serial speed")
    keymap: dict[str, str] = Field(default_factory=dict, description="Key name -> action (next, recall, skip, finish, pause, resume, open, close, transfer, transfer:SERVICE, service:SERVICE; digit:N, dot, enter, clear for typed entries: a number to call, CODE.PIN to sign in); empty: the backend's default map")
    repeat_guard_s: float = Field(1.0, ge=0, description="A second press of the same key within this time is ignored (no double call)")
    transfer_timeout_s: float = Field(5.0, gt=0, description="After `transfer`, wait this long for the service key")
    feedback_s: float = Field(2.0, gt=0, le=10, description="Seconds the counter's LED board shows MO / DONG / LOI after a keypad command")
    width: int = Field(480, ge=240, description="screen: window width")
    height: int = Field(320, ge=200, description="screen: window height")
    fullscreen: bool = Field(False, description="screen: fullscreen window")
    locale: Literal["vi", "en"] = Field("vi", description="screen: language of the on-screen keypad")

    @model_validator(mode="after")
    def _keypad(self) -> "KeypadDevice":
        if self.counter is None:
            raise ValueError("a keypad needs the `counter` whose commands it sends")
        if self.backend == "serial" and not self.port:
            raise ValueError("backend 'serial' needs `port`")
        if self.backend == "evdev" and not (self.path or self.usb):
            raise ValueError("backend 'evdev' needs `path` (/dev/input/by-id/...) or `usb` (vendor:product)")
        actions = ("next", "recall", "skip", "finish", "pause", "resume", "open", "close", "transfer")
        for key, action in self.keymap.items():
            verb, _, arg = action.partition(":")
            if verb == "digit" and len(arg) == 1 and arg.isdigit():
                continue
            if verb not in actions + ("service", "dot", "enter", "clear") or (verb == "service" and not arg) \
                    or (arg and verb not in ("transfer", "service")):
                raise ValueError(f"keymap {key!r}: unknown action {action!r} "
                                 f"(one of {', '.join(actions)}, transfer:SERVICE, service:SERVICE, "
                                 "digit:0-9, dot, enter, clear)")
        return self


class TabletDevice(DeviceBase):
    kind: Literal["tablet"] = Field(description="Satisfaction tablet at a counter")
    reasons: list[str] = Field(
        default_factory=lambda: ["Chậm", "Hướng dẫn sai", "Thái độ", "Đòi thêm giấy tờ", "Khác"],
        description="Reasons offered after 'Không hài lòng'")
    width: int = Field(1024, ge=240, description="Screen width")
    height: int = Field(600, ge=240, description="Screen height")
    fullscreen: bool = Field(True, description="Fullscreen window")
    idle_timeout_s: float = Field(20, ge=2, description="Back to rest after this")


class CameraDevice(DeviceBase):
    kind: Literal["camera"] = Field(description="Counter or waiting-area camera")
    backend: Literal["opencv", "virtual"] = Field("virtual", description="opencv: a device, RTSP URL or file; virtual: generated frames")
    source: str | None = Field(None, description="Device index, RTSP URL or video file")
    fps: float = Field(5, gt=0, le=30, description="Frames analysed per second")
    absent_minutes: float = Field(5, gt=0, description="Warn when an open counter's desk is empty this long")
    budget_mb: int = Field(2048, ge=10, description="Disk budget for snapshots and clips")
    retention_days: int = Field(30, ge=1, description="Days snapshots are kept")
    width: int = Field(1280, ge=64, le=3840, description="Frame width asked of the camera (virtual: generated)")
    height: int = Field(720, ge=48, le=2160, description="Frame height asked of the camera (virtual: generated)")
    roi: tuple[float, float, float, float] = Field(
        (0.2, 0.15, 0.6, 0.6), description="Counter cameras: desk region x, y, w, h as fractions of the frame")
    clip_pre_s: float = Field(5, ge=0, le=30, description="Seconds kept before an unsatisfied rating's clip")
    clip_post_s: float = Field(5, ge=0, le=30, description="Seconds recorded after it")
    occupancy_interval_s: float = Field(60, ge=1, description="Waiting-area cameras: seconds between occupancy estimates")
    jpeg_quality: int = Field(80, ge=30, le=100, description="JPEG quality of snapshots and clip frames")
    person_area: float = Field(0.011, gt=0, lt=1, description="Waiting-area cameras: share of the frame one seated person covers")
    main_stream: str | None = Field(None, description="Recording: the camera's main stream (RTSP URL, or a file), copied by ffmpeg into segments; None: no recording")
    sub_stream: str | None = Field(None, description="Monitor: the camera's low-resolution stream for the `cameras` display (default: `source`)")
    rtsp_transport: Literal["tcp", "udp"] = Field("tcp", description="Recording: RTSP transport asked of the camera")
    segment_s: int = Field(60, ge=2, le=3600, description="Recording: length of one segment file, seconds")
    record_budget_mb: int = Field(50_000, ge=10, description="Recording: disk budget for segments; the oldest go first above it")
    record_retention_days: int = Field(30, ge=1, description="Recording: days segments and ticket bookmarks are kept")
    record_min_free_mb: int = Field(2048, ge=0, description="Recording: the oldest segments go while the disk has less free than this (0: no floor)")
    clip_before_s: float = Field(30, ge=0, le=3600, description="`motcua camera clip`: seconds of footage before the call")
    clip_after_s: float = Field(30, ge=0, le=3600, description="`motcua camera clip`: seconds after the visit ended")


Device = Annotated[
    Union[PrinterDevice, KioskDevice, LedDevice, DisplayDevice, VoiceDevice, ScannerDevice,
          KeypadDevice, TabletDevice, CameraDevice],
    Field(discriminator="kind"),
]

DEVICE_KIND_TAGS = frozenset({"printer", "kiosk", "led", "display", "voice", "scanner",
                              "keypad", "tablet", "camera"})
