"""Pydantic models of one office's TOML configuration.

Every model forbids unknown keys so that a typo is an error at load time, not a silently
ignored setting found weeks later at the counter.
"""
from __future__ import annotations

import re
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.config.devices import Device
from edge.config.messages import bilingual
from edge.protocol import OFFICE_RE

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
PUBLIC_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(Strict):
    """A time span within one local day."""

    start: time = Field(description="Local start time, inclusive")
    end: time = Field(description="Local end time, exclusive")

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end


def _parse_span(value: object) -> object:
    if isinstance(value, str):
        m = _SPAN.match(value.strip())
        if not m:
            raise bilingual(f"\"{value}\" không phải khoảng giờ; viết dạng \"07:30-11:30\"",
                            f"{value!r} is not a span like '07:30-11:30'")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
            raise bilingual(f"\"{value}\" có giờ không có thật (giờ 0-24, phút 0-59)",
                            f"{value!r} has an impossible time (hours 0-24, minutes 0-59)")
        end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
        if (h2, m2) <= (h1, m1):
            raise bilingual(f"\"{value}\" kết thúc trước khi bắt đầu; viết giờ mở trước, giờ đóng sau",
                            f"{value!r} ends before it starts; write the opening time first")
        return {"start": time(h1, m1), "end": end}
    return value


class WeekSchedule(Strict):
    """Spans per weekday, written `mon = ["07:30-11:30", "13:30-17:00"]`; a missing day is closed."""

    mon: list[Span] = Field(default_factory=list, description="Monday spans")
    tue: list[Span] = Field(default_factory=list, description="Tuesday spans")
    wed: list[Span] = Field(default_factory=list, description="Wednesday spans")
    thu: list[Span] = Field(default_factory=list, description="Thursday spans")
    fri: list[Span] = Field(default_factory=list, description="Friday spans")
    sat: list[Span] = Field(default_factory=list, description="Saturday spans")
    sun: list[Span] = Field(default_factory=list, description="Sunday spans")

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _spans(cls, v: object) -> object:
        if isinstance(v, list):
            return [_parse_span(x) for x in v]
        return v

    @field_validator(*WEEKDAYS, mode="after")
    @classmethod
    def _no_overlap(cls, v: list[Span]) -> list[Span]:
        ordered = sorted(v, key=lambda s: s.start)
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                sa, sb = (f"{x.start:%H:%M}-{x.end:%H:%M}" for x in (a, b))
                raise bilingual(f"hai khoảng giờ {sa} và {sb} chồng lên nhau; gộp lại hoặc sửa giờ",
                                f"spans {sa} and {sb} overlap; merge them or fix the times")
        return v

    def spans(self, weekday: int) -> list[Span]:
        return getattr(self, WEEKDAYS[weekday])

    def is_open(self, weekday: int, t: time) -> bool:
        return any(s.contains(t) for s in self.spans(weekday))


class PriorityPolicy(Strict):
    """How priority tickets (elderly, disabled, pregnant, with small children) are ordered."""

    policy: Literal["none", "strict", "interleave"] = Field(
        "interleave", description="none: arrival order; strict: priority first; "
        "interleave: one priority ticket after every `every` others")
    every: int = Field(3, ge=1, le=100, description="For interleave: ordinary tickets between two priority ones")


PRIORITY_VALUES = ("elderly", "disabled", "pregnant", "child", "other")


class PriorityCategory(Strict):
    """A kind of citizen served first. `priority` is the ticket's wire value (PROTOCOL.md);
    the name is what the kiosk offers and the ticket prints, so an office words its own."""

    priority: Literal["elderly", "disabled", "pregnant", "child", "other"] = Field(
        description="Wire value on the ticket: elderly, disabled, pregnant, child or other")
    name: str = Field(min_length=1, max_length=80, description="Vietnamese name shown on the kiosk and printed")
    name_en: str | None = Field(None, max_length=80, description="English name for the second locale")


#: Vietnamese defaults; merit to the revolution goes on the wire as `other` (docs/engine.md).
DEFAULT_PRIORITY_CATEGORIES = (
    PriorityCategory(priority="elderly", name="Người cao tuổi (từ 60 tuổi)", name_en="Elderly (60 or over)"),
    PriorityCategory(priority="disabled", name="Người khuyết tật", name_en="Person with a disability"),
    PriorityCategory(priority="pregnant", name="Phụ nữ mang thai", name_en="Pregnant woman"),
    PriorityCategory(priority="other", name="Người có công với cách mạng", name_en="Person with merit to the revolution"),
    PriorityCategory(priority="child", name="Người đi cùng trẻ nhỏ (dưới 6 tuổi)", name_en="With a child under 6"),
)


class Service(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="Short code used on the wire, e.g. HT")
    name: str = Field(min_length=1, max_length=120, description="Vietnamese name shown and printed")
    name_en: str | None = Field(None, description="English name for the second locale")
    field: str = Field("", max_length=120, description="Field (lĩnh vực) the service belongs to; kiosks group by it")
    number_start: int = Field(1, ge=0, le=999999, description="First ticket number of the day")
    number_end: int = Field(999, ge=0, le=999999, description="Last ticket number of the day")
    number_format: str = Field("{n}", description="Python format of the printed number, e.g. '{n}' or 'A{n:03d}'")
    daily_quota: int | None = Field(None, ge=1, description="Most tickets a day (None: the number range is the limit)")
    priority: PriorityPolicy = Field(default_factory=PriorityPolicy, description="Priority ordering")
    ticket_windows: WeekSchedule | None = Field(None, description="When tickets may be issued; default: the office's")
    enabled: bool = Field(True, description="A disabled service issues no tickets (service_closed)")
    default_service_s: int = Field(300, ge=10, le=7200, description="Service time assumed before any is measured")

    @field_validator("number_format")
    @classmethod
    def _format(cls, v: str) -> str:
        try:
            sample = v.format(n=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise bilingual(f"\"{v}\" không phải mẫu số có đúng một {{n}}, ví dụ \"{{n}}\" hoặc \"A{{n:03d}}\"",
                            f"{v!r} is not a format with a single {{n}}: {exc}") from None
        if not sample or len(sample) > 12:
            raise bilingual(f"\"{v}\" cho ra \"{sample}\": số in trên phiếu phải dài 1-12 ký tự",
                            f"{v!r} gives {sample!r}: a number must be 1-12 characters")
        return v

    @model_validator(mode="after")
    def _range(self) -> "Service":
        if self.number_end < self.number_start:
            raise bilingual(f"number_end {self.number_end} nhỏ hơn number_start {self.number_start}; "
                            "số cuối phải lớn hơn số đầu",
                            f"number_end {self.number_end} is below number_start {self.number_start}")
        return self

    def format_number(self, n: int) -> str:
        return self.number_format.format(n=n)

    @property
    def capacity(self) -> int:
        cap = self.number_end - self.number_start + 1
        return min(cap, self.daily_quota) if self.daily_quota else cap


class Counter(Strict):
    number: int = Field(ge=1, le=9999, description="Counter number, as on its board")
    name: str = Field("", description="Display name; default 'Quầy N'")
    zone: str | None = Field(None, description="Zone or area of the floor")
    floor: int | None = Field(None, description="Floor of the building")
    services: list[str] = Field(min_length=1, description="Service codes served, in order of preference")
    priority: bool = Field(False, description="Priority counter: calls the oldest waiting priority ticket of its "
                           "services first, then the others in the usual order")

    @property
    def label(self) -> str:
        return self.name or f"Quầy {self.number}"


class Office(Strict):
    id: str = Field(description="Office id: the agency's electronic code, e.g. 000.00.17.H29")
    name: str = Field(min_length=1, description="Office name printed on tickets and shown on screens")
    name_en: str | None = Field(None, description="English name")
    timezone: str = Field("Asia/Ho_Chi_Minh", description="IANA time zone of the office")
    locale: Literal["vi", "en"] = Field("vi", description="First locale of screens and tickets")
    hours: WeekSchedule = Field(description="Opening hours per weekday")
    ticket_windows: WeekSchedule | None = Field(None, description="When tickets may be issued; default: the opening hours")
    holidays: list[date] = Field(default_factory=list, description="Closed days (local dates)")
    footer: str = Field("Xin cảm ơn quý khách!", description="Thank-you line printed at the bottom of tickets")
    tracking_url: str | None = Field(None, description="QR link on tickets; {ticket_id} is replaced. None: the ticket id")
    public_url: str | None = Field(None, description="Address of the web daemon that citizens' phones open on the office "
                                   "Wi-Fi, e.g. http://10.0.0.5:8080; the ticket's QR then links to {public_url}/ve/{token}")
    wait_limit_min: int = Field(30, ge=1, le=600, description="Reports: the share of citizens who waited longer "
                                "than this many minutes is shown")
    auto_open: bool = Field(False, description="Open every closed counter when a span of the opening hours starts (no clerk signed in until one does)")
    elderly_age: int = Field(60, ge=50, le=100, description="Age from which a scanned citizen ID card is offered the elderly priority (Law on the Elderly: 60)")
    tickets_per_person: int | None = Field(None, ge=1, le=50, description="Most tickets a day per citizen ID card scanned at a kiosk (None: no cap); the province sets it")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not OFFICE_RE.match(v):
            raise bilingual(f"\"{v}\" không dùng được làm mã đơn vị: viết mã định danh điện tử, "
                            "ví dụ \"000.00.17.H29\" (chữ không dấu, số, dấu chấm)",
                            f"{v!r} must match {OFFICE_RE.pattern}, e.g. 000.00.17.H29")
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().rstrip("/")
        if not PUBLIC_URL_RE.match(v):
            raise ValueError(f"{v!r} must be an http:// or https:// address with no path, query or spaces")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise bilingual(f"không có múi giờ \"{v}\"; ở Việt Nam viết \"Asia/Ho_Chi_Minh\"",
                            f"unknown time zone {v!r}; in Viet Nam write 'Asia/Ho_Chi_Minh'") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Broker(Strict):
    embedded: bool = Field(True, description="Run mosquitto from `motcua run`/`motcua broker`")
    host: str = Field("127.0.0.1", description="Host the daemons connect to")
    port: int = Field(1883, ge=1, le=65535, description="MQTT port")
    bind: str = Field("127.0.0.1", description="Address the embedded broker listens on (0.0.0.0 for a LAN)")
    tls: bool = Field(False, description="Connect with TLS")
    keepalive_s: int = Field(15, ge=5, le=600, description="MQTT keepalive")


class Hub(Strict):
    enabled: bool = Field(True, description="Run the hub daemon")
    adapter: Literal["rest", "simulator"] = Field("rest", description="rest: a provincial gateway (needs base_url, username, password_file); simulator: the built-in upstream simulator, for --simulate and trials only")
    base_url: str | None = Field(None, description="Upstream base URL, e.g. https://gateway.example.gov.vn")
    auth_path: str = Field("/auth", description="Authentication path")
    service_path: str = Field("/service", description="Service-call path")
    username: str | None = Field(None, description="Upstream user")
    password_file: str | None = Field(None, description="File holding the upstream password (mode 0600)")
    ca_file: str | None = Field(None, description="PEM bundle of CAs to trust for an https:// gateway whose CA is not in the system store")
    dstcode: str = Field("", description="Gateway routing code for this office (header dstcode)")
    madonvi: str | None = Field(None, description="Agency code sent as madonvi; default office.id")
    field_map: dict[str, str] = Field(default_factory=dict, description="Renamed upstream fields: our name -> theirs")
    service_names: dict[str, str] = Field(default_factory=dict, description="Renamed upstream services: our name -> theirs")
    sync_interval_s: float = Field(30, ge=1, le=3600, description="Seconds between incremental syncs")
    page_size: int = Field(500, ge=1, le=5000, description="Records per upstream page")
    lag_window_s: float = Field(300, ge=0, le=86400, description="How far behind (upstream time) a lagging gateway may serve old copies: each sync asks that window again and lookups confirm dossiers changed within it")
    timeout_s: float = Field(5, gt=0, le=60, description="Timeout of one upstream call")
    lookup_timeout_s: float = Field(0.5, gt=0, le=10, description="Time a lookup waits for upstream before answering from the cache")
    lookup_rate_per_min: int = Field(30, ge=1, description="Lookups allowed per device per minute")
    return_counter: str | None = Field(None, description="Where results are handed back, for the lookup kiosk's advice")
    simulator_port: int = Field(0, ge=0, le=65535, description="Port of the built-in simulator (0: any free port)")
    simulator_dossiers: int = Field(2000, ge=0, description="Dossiers the simulator generates")
    appointments: bool = Field(False, description="Sync bookings (LayDanhSachLichHen) and redeem them at ticket kiosks with a reader")
    appointment_services: dict[str, str] = Field(default_factory=dict, description="Booking's MaTTHC or MaLinhVuc -> service code (default: a service whose code is the MaLinhVuc)")
    appointment_late_min: int = Field(15, ge=0, le=240, description="Minutes after the slot a booking is still honoured; later arrivals become walk-ins")


class Web(Strict):
    """The clerks' web console (`motcua web`): bound to the office LAN, HTTPS optional."""

    enabled: bool = Field(False, description="Run the web console daemon on the main host")
    bind: str = Field("127.0.0.1", description="Address to listen on: the main host's office LAN address")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0: any free port, for tests)")
    tls_cert: str | None = Field(None, description="PEM certificate file: serve HTTPS")
    tls_key: str | None = Field(None, description="PEM private key of tls_cert")
    session_secret_file: str | None = Field(None, description="File with the cookie signing key (default DATA/web/session.key, made on first start)")
    session_hours: float = Field(12, gt=0, le=72, description="A sign-in lasts this long")
    pause_reasons: list[str] = Field(
        default_factory=lambda: ["Nghỉ trưa", "Đi họp", "Hỗ trợ công dân", "Việc khác"],
        min_length=1, description="Reasons a clerk picks when pausing a counter")
    login_attempts_per_min: int = Field(10, ge=1, le=1000, description="Sign-in attempts allowed per client address per minute")

    @model_validator(mode="after")
    def _tls(self) -> "Web":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("HTTPS needs both tls_cert and tls_key")
        return self


CATALOGUE_FIELDS = ("MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "ThanhPhanHoSo", "PhiLePhi",
                    "ThoiHanGiaiQuyet", "NoiTiepNhan", "NoiTraKetQua", "MucDo", "DuongDan", "BieuMau",
                    "NgayCapNhat")


class Catalogue(Strict):
    """The procedure catalogue the hub keeps (hub/catalogue.py): where it comes from, how files map."""

    files: list[str] = Field(default_factory=list, description="JSON or XLSX exports imported when the hub starts and whenever they change (relative to this config file)")
    columns: dict[str, str] = Field(default_factory=dict, description="Column of the export holding each procedure field: MaTTHC = \"Mã thủ tục\" (default: the field's own name)")
    sheet: str | None = Field(None, description="XLSX: the sheet to read (default: the first)")
    item_separator: str = Field("|", min_length=1, max_length=3, description="XLSX: separates the parts of one document, fee or form within a line of a cell (name | copies | kind)")
    upstream: bool = Field(False, description="Also fetch procedures from the provincial system (LayDanhSachTTHC, an extension)")
    sync_interval_s: float = Field(3600, ge=10, le=86400, description="Seconds between fetches from upstream")
    services: dict[str, str] = Field(default_factory=dict, description="Ticket service per procedure code, field code or field name (default: the service whose `field` is the procedure's field)")
    portal_url: str | None = Field(None, description="Page of a procedure on the portal when the catalogue has none; {code} is replaced")

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(CATALOGUE_FIELDS))
        if unknown:
            raise ValueError(f"unknown procedure field(s) {', '.join(unknown)} (known: {', '.join(CATALOGUE_FIELDS)})")
        return v


class Simulation(Strict):
    arrivals_per_hour: float = Field(60, gt=0, description="Simulated citizens per office hour")
    priority_share: float = Field(0.1, ge=0, le=1, description="Share of citizens with priority")
    no_show_share: float = Field(0.05, ge=0, le=1, description="Share of called citizens who do not come")
    service_time_s: float = Field(240, gt=0, description="Mean simulated service time")
    clerks_open_all: bool = Field(True, description="Open every counter at the start")
    upstream: Literal["simulator", "as_configured"] = Field(
        "simulator", description="--simulate: the hub talks to the built-in upstream simulator, or keeps [hub] as "
        "written (a test gateway, never the province's real one)")


class OfficeConfig(Strict):
    office: Office = Field(description="The office")
    services: list[Service] = Field(min_length=1, description="Services that issue tickets")
    counters: list[Counter] = Field(min_length=1, description="Counters")
    devices: list[Device] = Field(default_factory=list, description="Devices and where their daemons run")
    broker: Broker = Field(default_factory=Broker, description="MQTT broker")
    hub: Hub = Field(default_factory=Hub, description="Dossier hub")
    web: Web = Field(default_factory=Web, description="Clerks' web console")
    simulation: Simulation = Field(default_factory=Simulation, description="Simulated citizens and clerks (--simulate)")
    priority_categories: list[PriorityCategory] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY_CATEGORIES),
        description="Priority categories the kiosk offers, in order; each wire value at most once (empty: none)")
    catalogue: Catalogue = Field(default_factory=Catalogue, description="Procedure catalogue (procedure kiosk, information screens)")

    @model_validator(mode="after")
    def _catalogue_services(self) -> "OfficeConfig":
        codes = {s.code for s in self.services}
        bad = sorted(f"{k} = {v!r}" for k, v in self.catalogue.services.items() if v not in codes)
        if bad:
            raise ValueError(f"catalogue.services names unknown service(s): {', '.join(bad)}")
        return self

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def counter(self, number: int) -> Counter | None:
        return next((c for c in self.counters if c.number == number), None)

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def priority_name(self, priority: str, lang: str = "vi") -> str:
        """The configured name of a ticket's priority value (the value itself if not configured)."""
        cat = next((c for c in self.priority_categories if c.priority == priority), None)
        if cat is None:
            return priority
        return cat.name_en if lang == "en" and cat.name_en else cat.name

    def counters_for(self, service: str) -> list[Counter]:
        return [c for c in self.counters if service in c.services]

    def windows_for(self, service: Service) -> WeekSchedule:
        return service.ticket_windows or self.office.ticket_windows or self.office.hours
