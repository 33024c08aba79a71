"""The office MQTT contract (PROTOCOL.md v1) in code: topics, payload models, replies.

Every daemon imports its topics and payloads from here and nowhere else, so the wire
format has one source of truth. docs/protocol.md describes the same contract in prose.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.i18n import N_, t

VERSION = "v1"
ROOT = f"motcua/{VERSION}"
MAX_PAYLOAD = 64 * 1024
OFFICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Priority = Literal["none", "elderly", "disabled", "pregnant", "child", "other"]
PRIORITIES: tuple[str, ...] = ("none", "elderly", "disabled", "pregnant", "child", "other")
TicketStatus = Literal["waiting", "called", "done", "no_show", "cancelled"]
CounterStatus = Literal["closed", "open", "paused"]
CounterAction = Literal["open", "close", "pause", "resume", "next", "recall", "skip",
                        "finish", "transfer", "call"]
TicketEventAction = Literal["issued", "called", "recalled", "done", "no_show",
                            "transferred", "cancelled"]
TICKET_EVENT_ACTIONS: tuple[str, ...] = ("issued", "called", "recalled", "done", "no_show",
                                         "transferred", "cancelled")
DeviceKind = Literal["engine", "hub", "kiosk", "printer", "led", "display", "voice",
                     "scanner", "tablet", "keypad", "camera"]
DEVICE_KINDS: tuple[str, ...] = ("engine", "hub", "kiosk", "printer", "led", "display",
                                 "voice", "scanner", "tablet", "keypad", "camera")
DeviceState = Literal["ok", "warning", "error"]
RatingLevel = Literal["very_satisfied", "satisfied", "unsatisfied"]

ERROR_CODES: tuple[str, ...] = (
    "bad_request", "unknown_service", "unknown_counter", "service_closed", "quota_reached",
    "not_serving", "counter_closed", "not_found", "rate_limited", "unavailable", "internal",
)

#: Default Vietnamese sentence for each error code (a catalogue msgid: the wire gets `t(...)`, the
#: office's own wording if it has one); a responder may say something more precise.
ERROR_MESSAGES: dict[str, str] = {
    "bad_request": N_("Yêu cầu không hợp lệ."),
    "unknown_service": N_("Dịch vụ này không có tại bộ phận một cửa."),
    "unknown_counter": N_("Không có quầy này."),
    "service_closed": N_("Dịch vụ hiện không nhận lấy số."),
    "quota_reached": N_("Đã hết số thứ tự của dịch vụ này trong ngày hôm nay."),
    "not_serving": N_("Quầy chưa gọi số nào."),
    "counter_closed": N_("Quầy đang đóng."),
    "not_found": N_("Không tìm thấy."),
    "rate_limited": N_("Thao tác quá nhanh, vui lòng thử lại sau ít giây."),
    "unavailable": N_("Hệ thống tạm thời không phục vụ được, vui lòng thử lại sau."),
    "internal": N_("Có lỗi trong hệ thống, vui lòng báo cán bộ."),
}


def nfc(text: str) -> str:
    """Text for people travels NFC-normalised (PROTOCOL.md)."""
    return unicodedata.normalize("NFC", text)


def rfc3339(dt: datetime) -> str:
    """RFC 3339 with the office's UTC offset, to the second: 2026-11-21T08:15:02+07:00."""
    if dt.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return dt.isoformat(timespec="seconds")


# --------------------------------------------------------------------------- topics


class Topics:
    """Topic builders for one office; the only place topic strings are spelled."""

    def __init__(self, office: str) -> None:
        if not OFFICE_RE.match(office):
            raise ValueError(f"invalid office id {office!r}: must match {OFFICE_RE.pattern}")
        self.office = office
        self.root = f"{ROOT}/{office}"

    # requests
    @property
    def ticket_issue(self) -> str:
        return f"{self.root}/ticket/issue"

    def counter_command(self, counter: int | str) -> str:
        return f"{self.root}/counter/{counter}/command"

    @property
    def counter_command_all(self) -> str:
        return f"{self.root}/counter/+/command"

    @property
    def dossier_lookup(self) -> str:
        return f"{self.root}/dossier/lookup"

    @property
    def appointment_redeem(self) -> str:
        """Request (kiosk -> hub): redeem a booking once (project extension, docs/protocol.md)."""
        return f"{self.root}/appointment/redeem"

    @property
    def rating_submit(self) -> str:
        return f"{self.root}/rating/submit"

    @property
    def reply_prefix(self) -> str:
        return f"{self.root}/reply/"

    def reply(self, client: str) -> str:
        return f"{self.root}/reply/{client}"

    # state (retained)
    def counter_state(self, counter: int | str) -> str:
        return f"{self.root}/counter/{counter}/state"

    @property
    def counter_state_all(self) -> str:
        return f"{self.root}/counter/+/state"

    @property
    def queue_state(self) -> str:
        return f"{self.root}/queue/state"

    def device_status(self, device: str) -> str:
        return f"{self.root}/device/{device}/status"

    @property
    def device_status_all(self) -> str:
        return f"{self.root}/device/+/status"

    @property
    def display_notice(self) -> str:
        return f"{self.root}/display/notice"

    # events
    def ticket_event(self, action: str) -> str:
        if action not in TICKET_EVENT_ACTIONS:
            raise ValueError(f"unknown ticket event {action!r}")
        return f"{self.root}/event/ticket/{action}"

    @property
    def ticket_event_all(self) -> str:
        return f"{self.root}/event/ticket/+"

    def scan(self, device: str) -> str:
        return f"{self.root}/scan/{device}"

    @property
    def scan_all(self) -> str:
        return f"{self.root}/scan/+"

    @property
    def error(self) -> str:
        return f"{self.root}/error"

    # ---- project topics (not in PROTOCOL.md v1; documented in docs/protocol.md) ----

    def print_job(self, printer: str) -> str:
        """Print jobs for one printer daemon (kiosk -> printer)."""
        return f"{self.root}/print/{printer}/job"

    def print_result(self, printer: str) -> str:
        """Outcome of each print job (printer -> kiosk, engine)."""
        return f"{self.root}/print/{printer}/result"

    @property
    def engine_admin(self) -> str:
        """Technician requests to the engine (reload config, cancel a ticket)."""
        return f"{self.root}/admin/engine"

    def event(self, name: str) -> str:
        """Other project events (camera snapshots, presence, ratings)."""
        return f"{self.root}/event/{name}"

    def voice_event(self, action: str) -> str:
        """Voice daemon events: `started` (an announcement begins), `finished`, `dropped`."""
        if action not in ("started", "finished", "dropped"):
            raise ValueError(f"unknown voice event {action!r}")
        return f"{self.root}/event/voice/{action}"

    @property
    def rating_event(self) -> str:
        """Stored ratings (engine -> hub outbox, cameras, reports)."""
        return self.event("rating")

    def camera_event(self, kind: str) -> str:
        """Camera daemon events: snapshot, clip, presence, occupancy."""
        return self.event(f"camera/{kind}")

    def counter_feedback(self, counter: int | str) -> str:
        """Short feedback for a counter's LED board (keypad -> led): MO, DONG, LOI."""
        return f"{self.root}/counter/{counter}/feedback"

    @property
    def counter_feedback_all(self) -> str:
        return f"{self.root}/counter/+/feedback"

    @property
    def queue_waiting(self) -> str:
        """Request: today's waiting and no-show tickets (web console -> engine)."""
        return f"{self.root}/queue/waiting"

    @property
    def hub_admin(self) -> str:
        """Technician requests to the hub (sync now, full resync, status)."""
        return f"{self.root}/admin/hub"

    @property
    def dossier_board(self) -> str:
        """Retained summary for the dossier status board (hub -> display)."""
        return self.event("hub/board")

    @property
    def queue_stats_event(self) -> str:
        """A day's queue figures per field, for the hub to push upstream (DongBoSoLieuXepHang)."""
        return self.event("queue_stats")

    @property
    def office_info(self) -> str:
        """Retained description of the office (engine -> the province's central view)."""
        return f"{self.root}/office/info"

    @property
    def procedures_search(self) -> str:
        """Search the procedure catalogue (kiosk, information screen -> hub)."""
        return f"{self.root}/procedures/search"

    @property
    def procedures_get(self) -> str:
        """One procedure of the catalogue, in full (kiosk -> hub)."""
        return f"{self.root}/procedures/get"

    # ---- parsing ----

    def counter_from_topic(self, topic: str) -> str | None:
        """The `{counter}` level of a counter topic, or None if the topic is not one."""
        parts = topic.split("/")
        root_parts = self.root.split("/")
        if parts[: len(root_parts)] != root_parts or len(parts) != len(root_parts) + 3:
            return None
        if parts[len(root_parts)] != "counter":
            return None
        return parts[len(root_parts) + 1]

    def last_level(self, topic: str) -> str:
        return topic.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- payloads


class Payload(BaseModel):
    """Base for wire payloads: unknown fields are ignored on input (PROTOCOL.md)."""

    model_config = ConfigDict(extra="ignore")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Ticket(Payload):
    ticket_id: str
    number: str
    seq: int
    service: str
    service_name: str
    priority: Priority = "none"
    day: str
    issued_at: str
    status: TicketStatus
    counter: int | None = None
    dossier: str | None = None  # project extension (docs/protocol.md): the receipt scanned at the kiosk
    appointment: str | None = None  # project extension: the booking redeemed for this ticket
    slot_at: str | None = None      # project extension: the booking's slot; not called before it
    track: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,64}$",
                              description="Token of the ticket's public page (QR), not the ticket id")


class CounterState(Payload):
    counter: int
    name: str
    status: CounterStatus
    staff: str | None = None
    reason: str | None = None  # project field: why a paused counter is paused (the pause command's reason)
    services: list[str]
    serving: Ticket | None = None
    reason: str | None = Field(default=None, max_length=200, description="Why a paused counter is paused")
    ts: str
    reason: str | None = None  # project extension: why a paused counter is paused


class QueueServiceState(Payload):
    code: str
    name: str
    open: bool
    waiting: int
    last_issued: str | None = None
    last_called: str | None = None
    estimated_wait_s: int | None = None


class RecentCall(Payload):
    number: str
    counter: int
    counter_name: str
    ts: str


class QueueState(Payload):
    day: str
    services: list[QueueServiceState]
    recent_calls: list[RecentCall] = Field(default_factory=list, max_length=10)
    ts: str


class TicketEvent(Payload):
    ticket: Ticket
    counter: int | None = None
    counter_name: str | None = None
    ts: str


class DeviceStatus(Payload):
    device: str
    kind: DeviceKind | None = None
    online: bool
    state: DeviceState | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    ts: str | None = None


class Scan(Payload):
    code: str
    symbology: str
    source: Literal["hid", "serial", "camera", "file"]
    ts: str


class Dossier(Payload):
    code: str
    procedure: str | None = None
    status: int = Field(ge=1, le=10)
    status_text: str
    received_at: str | None = None
    due_at: str | None = None
    returned_at: str | None = None
    overdue: bool = False
    applicant: str | None = None
    updated_at: str | None = None
    stale: bool = False


class Notice(Payload):
    text: str
    until: str | None = None
    boards: list[str] | None = Field(default=None, max_length=64,
                                     description="Display device ids that show it; null: every calling display")


class ErrorEvent(Payload):
    topic: str
    code: str = "bad_request"
    message: str
    ts: str


class RatingEvent(Payload):
    """A stored rating, on `Topics.event("rating")` (engine -> hub outbox, camera, reports).

    `rating_id` is stable per ticket; a replacement comes with a higher `revision`.
    """

    rating_id: str
    ticket_id: str
    number: str
    day: str
    counter: int
    staff: str | None = None
    service: str
    level: RatingLevel
    reasons: list[str] = Field(default_factory=list)
    comment: str | None = None
    submitted_at: str
    revision: int = 1
    ts: str
    dossier: str | None = None  # project extension: the rated visit's dossier (receipt scanned at the kiosk)


class QueueStatsRow(Payload):
    """One field's figures for a day (DongBoSoLieuXepHang's DanhSach entry, in our names)."""

    field: str
    tickets: int = Field(ge=0)
    avg_wait_s: float = Field(ge=0)
    avg_service_s: float = Field(ge=0)
    no_show: int = Field(ge=0)


class QueueStatsEvent(Payload):
    """A day's queue figures on `Topics.queue_stats_event` (engine/reports -> hub outbox).

    Republishing a day replaces its figures upstream (the day is the push's own id).
    """

    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    rows: list[QueueStatsRow]
    ts: str


class BoardDossier(Payload):
    """One line of the dossier status board (applicant masked by the hub)."""

    code: str
    procedure: str | None = None
    applicant: str | None = None
    status: int = Field(ge=1, le=10)
    status_text: str
    due_at: str | None = None
    finished_at: str | None = None
    overdue: bool = False


class BoardCounts(Payload):
    received: int = 0      # received today
    finished: int = 0      # processing finished today
    returned: int = 0      # results handed back today
    overdue: int = 0       # open dossiers past their appointment now


class DossierBoard(Payload):
    """Retained on `Topics.dossier_board`: results ready, dossiers waiting for documents, today's counts.

    Lists hold at most 100 entries each (newest first); the totals count them all. `stale` is
    true while the hub cannot reach the provincial system.
    """

    day: str
    ready: list[BoardDossier] = Field(default_factory=list)
    ready_total: int = 0
    needs_documents: list[BoardDossier] = Field(default_factory=list)
    needs_documents_total: int = 0
    today: BoardCounts = Field(default_factory=BoardCounts)
    stale: bool = False
    ts: str


class CameraEvent(Payload):
    """Camera daemon events on `Topics.camera_event(kind)`: snapshot, clip, presence, occupancy."""

    device: str
    counter: int | None = None
    area: str | None = None
    ticket_id: str | None = None
    trigger: str | None = None
    path: str | None = None
    bytes: int | None = None
    state: str | None = None
    absent_s: float | None = None
    people: int | None = None
    ts: str


class OfficeInfo(Payload):
    """Retained on `Topics.office_info` by the engine at start: what the province sees of the office."""

    office: str
    name: str
    version: str
    config_sha256: str
    services: int
    counters: int
    devices: int
    fields: dict[str, str] = Field(default_factory=dict)  # service code -> field (lĩnh vực)
    host: str
    started_at: str
    ts: str


PrintOutcome = Literal["queued", "printed", "expired", "rejected", "failed"]


class PrintJob(Payload):
    """A ticket to print, on `Topics.print_job(printer)` (kiosk -> printer); the printer lays it out."""

    job_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    ticket: Ticket
    waiting_ahead: int | None = None
    estimated_wait_s: int | None = None
    source: str | None = Field(default=None, max_length=64)
    reprint: bool = False
    created_at: str


class PrintResult(Payload):
    """Outcome of a print job on `Topics.print_result(printer)`: queued, then printed or expired."""

    job_id: str
    ticket_id: str | None = None
    number: str | None = None
    outcome: PrintOutcome
    detail: str | None = None
    queued: int = 0
    ts: str


class ProcedureDocument(Payload):
    """A document to bring: `copies` (None: not stated), `kind` Bản chính / Bản sao / Bản sao chứng thực."""

    name: str
    copies: int | None = None
    kind: str = ""


class ProcedureFee(Payload):
    name: str
    amount: str  # in đồng, as the catalogue writes it ("50.000 đồng", "Không")


class ProcedureForm(Payload):
    name: str
    url: str = ""


class ProcedureSummary(Payload):
    """A line of a catalogue search (hub -> kiosk, information screen)."""

    code: str
    name: str
    field: str = ""
    field_code: str = ""
    time_limit: str = ""
    online: str = ""
    service: str | None = None  # the ticket service that handles it (from the office config)


class Procedure(ProcedureSummary):
    """One administrative procedure as published by the office (UPSTREAM.md's procedure record)."""

    documents: list[ProcedureDocument] = Field(default_factory=list)
    fees: list[ProcedureFee] = Field(default_factory=list)
    submit_at: str = ""
    collect_at: str = ""
    url: str = ""
    forms: list[ProcedureForm] = Field(default_factory=list)
    updated: str = ""


class ProcedureField(Payload):
    code: str
    name: str
    count: int


class ChecklistPrintJob(Payload):
    """A procedure's checklist to print, on `Topics.print_job(printer)` next to ticket jobs."""

    job_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    kind: Literal["checklist"]
    procedure: Procedure
    source: str | None = Field(default=None, max_length=64)
    created_at: str


# --------------------------------------------------------------------------- requests


class Request(Payload):
    id: str
    reply_to: str

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not REQUEST_ID_RE.match(v):
            raise ValueError("id must be 1-64 characters of [A-Za-z0-9._:-]")
        return v


class IssueRequest(Request):
    service: str = Field(min_length=1, max_length=32)
    priority: Priority = "none"
    source: str | None = Field(default=None, max_length=64)
    # project extension (docs/protocol.md): the dossier code of the receipt the citizen scanned
    dossier: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-]+$")
    # project extension: a citizen ID card scanned at the kiosk, as its day-keyed hash and age bracket only
    person: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    age_bracket: str | None = Field(default=None, pattern=r"^(<18|\d{2}-\d{2}|80\+)$")
    # project extension: a booking redeemed at the kiosk (the hub checked it): called at slot_at (RFC 3339)
    appointment: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    slot_at: str | None = Field(default=None, max_length=40)

    @field_validator("slot_at")
    @classmethod
    def _slot(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if datetime.fromisoformat(v).tzinfo is None:
                    raise ValueError
            except ValueError:
                raise ValueError("slot_at must be an RFC 3339 time with its offset") from None
        return v

    def slot_time(self) -> datetime | None:
        return datetime.fromisoformat(self.slot_at) if self.slot_at else None


class CounterCommand(Request):
    action: CounterAction
    staff: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=200)
    service: str | None = Field(default=None, max_length=32)
    to_counter: int | None = None
    number: str | int | None = None
    # project extension (docs/protocol.md): who acts, for attribution and checks
    staff_login: str | None = Field(default=None, max_length=32, pattern=r"^[a-z0-9][a-z0-9._-]{1,31}$")
    staff_code: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,8}$", repr=False)
    staff_ts: int | None = Field(default=None, ge=0)
    staff_sig: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("number")
    @classmethod
    def _number(cls, v: str | int | None) -> str | None:
        return None if v is None else str(v)


class WaitingRequest(Request):
    """On `Topics.queue_waiting`: tickets `waiting` (and `no_show`) today, oldest first."""

    services: list[str] | None = Field(default=None, max_length=64)
    limit: int = Field(default=150, ge=1, le=200)


class CounterFeedback(Payload):
    """On `Topics.counter_feedback(n)`: a short code the counter's board shows for `seconds`."""

    code: Literal["MO", "DONG", "LOI", "NGHI", "OK"]
    seconds: float = Field(default=2.0, gt=0, le=10)
    ts: str


class LookupRequest(Request):
    code: str = Field(min_length=1, max_length=2048)


class RatingRequest(Request):
    counter: int
    ticket_id: str | None = Field(default=None, max_length=64)
    level: RatingLevel
    reasons: list[str] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(default=None, max_length=500)


class HubAdminRequest(Request):
    """On `Topics.hub_admin`: `sync` (now), `resync` (full, from the beginning), `status`."""

    action: Literal["sync", "resync", "status"]


class ProcedureSearchRequest(Request):
    """On `Topics.procedures_search`: words with or without marks, or a national code; `field` filters."""

    query: str = Field(default="", max_length=200)
    field: str | None = Field(default=None, max_length=120)
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class ProcedureGetRequest(Request):
    code: str = Field(min_length=1, max_length=40)


class BadPayload(Exception):
    """A payload with nowhere safe to reply: reported on the error topic."""


class RequestInvalid(Exception):
    """A well-formed request whose fields are invalid: replied with bad_request."""

    def __init__(self, req_id: str, reply_to: str, message: str) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.reply_to = reply_to
        self.message = message


def decode_json(payload: bytes) -> dict[str, Any]:
    """Decode a payload into a JSON object, or raise BadPayload with the precise reason."""
    if len(payload) > MAX_PAYLOAD:
        raise BadPayload(f"payload is {len(payload)} bytes, more than {MAX_PAYLOAD}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadPayload(f"payload is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadPayload(f"payload is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # [[[[...]]]] well under 64 KiB nests deeper than the interpreter's stack
        raise BadPayload("payload nests JSON too deeply") from None
    if not isinstance(data, dict):
        raise BadPayload(f"payload is a JSON {type(data).__name__}, not an object")
    if _SURROGATE_ESCAPE.search(payload) and _has_lone_surrogate(data):
        raise BadPayload("payload holds a lone UTF-16 surrogate (\\ud800-\\udfff): not text")
    return data


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(data: Any) -> bool:
    """A `\\ud800` escape decodes to a str UTF-8 cannot hold (file names, SQLite, sockets fail)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_request(payload: bytes, model: type[Request], reply_prefix: str) -> Request:
    """Validate a request payload.

    Raises BadPayload when there is no usable id/reply_to, RequestInvalid when there is
    one but the other fields are wrong.
    """
    data = decode_json(payload)
    req_id, reply_to = data.get("id"), data.get("reply_to")
    if not isinstance(req_id, str) or not REQUEST_ID_RE.match(req_id):
        raise BadPayload("missing or invalid 'id' (1-64 characters of [A-Za-z0-9._:-])")
    if not isinstance(reply_to, str) or not valid_reply_topic(reply_to, reply_prefix):
        raise BadPayload(f"missing or invalid 'reply_to' (a topic under {reply_prefix})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestInvalid(req_id, reply_to, describe_validation(exc)) from None


def valid_reply_topic(topic: str, reply_prefix: str) -> bool:
    return (topic.startswith(reply_prefix) and len(topic) > len(reply_prefix)
            and "+" not in topic and "#" not in topic and "\x00" not in topic
            and len(topic.encode("utf-8")) <= 65535)


def describe_validation(exc: ValidationError) -> str:
    """One line per field error: `field.path: message`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(payload)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def ok_reply(req_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": req_id, "ok": True, **fields}


def error_reply(req_id: str, code: str, message: str | None = None) -> dict[str, Any]:
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}")
    return {"id": req_id, "ok": False,
            "error": {"code": code, "message": nfc(message or t(ERROR_MESSAGES[code]))}}


def dumps(payload: dict[str, Any] | Payload) -> bytes:
    """Serialise a payload as compact UTF-8 JSON (Vietnamese kept as text, not escapes)."""
    if isinstance(payload, Payload):
        payload = payload.wire()
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
