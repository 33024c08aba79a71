"""Configuration without TOML (`/ky-thuat`, technician role): services, counters, opening hours,
ticket windows and holidays edited in the browser.

A change is applied to the office's TOML with tomlkit (comments and layout kept), checked by
the very loader `motcua config check` uses (edge/config: the model plus the cross-checks),
and refused with the loader's messages, each shown next to its field. A valid change is
written atomically (temporary file, fsync, rename) with the previous file kept as
`NAME.toml.prev`, noted in the change history (who, when, which fields from what to what)
and applied with the engine's own `reload` (admin/engine, PROTOCOL.md): the day's tickets and
counters stay as they are. The web daemon must be able to write the config file and its
folder, so it runs on the box whose config the engine reads.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import tomlkit
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from edge import protocol as P
from edge.bus import RequestTimeout
from edge.config import ConfigError, OfficeConfig, loads
from edge.config.model import WEEKDAYS
from web.app import Console

log = logging.getLogger(__name__)

TECH_ROLES = ("technician",)
DMY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
HISTORY_SHOWN = 30

Reload = Callable[[], dict[str, Any]]


def _spans_text(spans: list) -> str:
    def hm(t) -> str:
        return "24:00" if (t.hour, t.minute, t.second) == (23, 59, 59) else f"{t.hour:02d}:{t.minute:02d}"
    return ", ".join(f"{hm(s.start)}-{hm(s.end)}" for s in spans)


def form_of(cfg: OfficeConfig) -> dict[str, Any]:
    """The editable part of a config, as the page's fields show it."""
    o = cfg.office
    return {
        "services": [{"code": s.code, "name": s.name, "number_start": s.number_start, "number_end": s.number_end,
                      "daily_quota": s.daily_quota, "priority": s.priority.policy, "enabled": s.enabled}
                     for s in cfg.services],
        "counters": [{"number": c.number, "name": c.name, "services": ", ".join(c.services), "zone": c.zone or "",
                      "floor": c.floor} for c in cfg.counters],
        "hours": {d: _spans_text(o.hours.spans(i)) for i, d in enumerate(WEEKDAYS)},
        "ticket_windows": None if o.ticket_windows is None else
        {d: _spans_text(o.ticket_windows.spans(i)) for i, d in enumerate(WEEKDAYS)},
        "holidays": [h.strftime("%d/%m/%Y") for h in o.holidays],
    }


def _flat(form: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, s in enumerate(form["services"]):
        for k, v in s.items():
            if k != "code":
                out[f"services[{i}].{k} ({s['code']})"] = v
    for i, c in enumerate(form["counters"]):
        for k, v in c.items():
            if k != "number":
                out[f"counters[{i}].{k} (Quầy {c['number']})"] = v
    for d, v in form["hours"].items():
        out[f"office.hours.{d}"] = v
    for d, v in (form["ticket_windows"] or {}).items():
        out[f"office.ticket_windows.{d}"] = v
    if form["ticket_windows"] is None:
        out["office.ticket_windows"] = None
    out["office.holidays"] = ", ".join(form["holidays"])
    return out


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = _flat(old), _flat(new)
    return [{"field": k, "old": a.get(k), "new": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _int_or_raw(v: Any) -> Any:
    """Integers as integers; anything else as typed, for the model to refuse with its message."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    text = str(v).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _spans(text: Any) -> list[str]:
    return [p.strip() for p in str(text or "").replace(";", ",").split(",") if p.strip()]


def _holiday(text: str) -> Any:
    m = DMY.match(text)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return text  # 31/02: the model says it is not a date
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return text


def _set(table: Any, key: str, value: Any) -> None:
    if value is None:
        if key in table:
            del table[key]
    else:
        table[key] = value


def apply_change(text: str, change: dict[str, Any]) -> str:
    """The TOML text with `change` (the page's form, any sections of it) applied."""
    doc = tomlkit.parse(text)
    by_code = {str(t.get("code")): t for t in doc.get("services", [])}
    for s in change.get("services") or []:
        t = by_code.get(str(s.get("code")))
        if t is None:
            continue  # services are added and removed in the TOML (their codes are on the wire)
        if "name" in s:
            t["name"] = " ".join(str(s["name"]).split())
        for key in ("number_start", "number_end"):
            if key in s:
                t[key] = _int_or_raw(s[key])
        if "daily_quota" in s:
            q = s["daily_quota"]
            _set(t, "daily_quota", None if q in (None, "") else _int_or_raw(q))
        if "enabled" in s:
            t["enabled"] = bool(s["enabled"])
        if "priority" in s:
            pol = t.get("priority")
            if pol is None:
                t["priority"] = tomlkit.inline_table()
                pol = t["priority"]
            pol["policy"] = str(s["priority"])
    by_number = {int(t.get("number")): t for t in doc.get("counters", []) if isinstance(t.get("number"), int)}
    for c in change.get("counters") or []:
        try:
            t = by_number.get(int(c.get("number")))
        except (TypeError, ValueError):
            t = None
        if t is None:
            continue
        if "name" in c:
            _set(t, "name", " ".join(str(c["name"]).split()) or None)
        if "services" in c:
            t["services"] = [x.strip() for x in str(c["services"]).split(",") if x.strip()]
        if "zone" in c:
            _set(t, "zone", str(c["zone"]).strip() or None)
        if "floor" in c:
            _set(t, "floor", None if c["floor"] in (None, "") else _int_or_raw(c["floor"]))
    office = doc["office"]
    if "hours" in change:
        hours = office.get("hours")
        for d in WEEKDAYS:
            if d in (change["hours"] or {}):
                spans = _spans(change["hours"][d])
                _set(hours, d, spans or None)
    if "ticket_windows" in change:
        tw = change["ticket_windows"]
        if tw is None:
            _set(office, "ticket_windows", None)
        else:
            table = tomlkit.table()
            for d in WEEKDAYS:
                spans = _spans(tw.get(d))
                if spans:
                    table[d] = spans
            office["ticket_windows"] = table
    if "holidays" in change:
        items = change["holidays"]
        if isinstance(items, str):
            items = re.split(r"[\n,;]+", items)
        office["holidays"] = [_holiday(str(h)) for h in items if str(h).strip()]
    return tomlkit.dumps(doc)


def write_atomically(path: Path, text: str) -> Path:
    """Replace `path` with `text` (never half-written); the old file is kept as PATH.prev."""
    prev = path.with_name(path.name + ".prev")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    old = path.read_bytes()
    with open(prev, "wb") as fh:
        fh.write(old)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return prev


class TechnicianDesk:
    def __init__(self, console: Console, config_path: Path | None, history_path: Path, reload: Reload,
                 on_applied: Callable[[OfficeConfig], None]) -> None:
        self.c = console
        self.path = config_path
        self.history_path = history_path
        self.reload = reload
        self.on_applied = on_applied
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route("/ky-thuat", self.page), Route("/api/tech/config", self.get_config),
                Route("/api/tech/config", self.post_config, methods=["POST"])]

    async def _tech(self, request: Request):
        staff = await run_in_threadpool(self.c.user, request)
        return staff if staff is not None and staff.role in TECH_ROLES else None

    def history(self) -> list[dict[str, Any]]:
        if not self.history_path.exists():
            return []
        lines = self.history_path.read_text(encoding="utf-8").splitlines()[-HISTORY_SHOWN:]
        out = []
        for ln in reversed(lines):
            try:
                out.append(json.loads(ln))
            except ValueError:
                continue
        return out

    def _current(self) -> dict[str, Any]:
        return {"form": form_of(self.c.cfg), "history": self.history(),
                "file": str(self.path) if self.path else None}

    async def page(self, request: Request) -> Response:
        staff = await self._tech(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        boot = {"me": staff.name, **self._current()}
        return self.c.templates.TemplateResponse(request, "technician.html", {
            "office": self.c.cfg.office.name, "csrf": self.c.csrf(request), "me": staff,
            "boot": json.dumps(boot, ensure_ascii=False, default=str).replace("<", "\\u003c")})

    async def get_config(self, request: Request) -> Response:
        if await self._tech(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản kỹ thuật viên."}, status_code=401)
        return JSONResponse(self._current())

    async def post_config(self, request: Request) -> Response:
        if not self.c.csrf_ok(request):
            return JSONResponse({"ok": False, "message": "Yêu cầu không hợp lệ (mã bảo vệ sai)."}, status_code=403)
        staff = await self._tech(request)
        if staff is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản kỹ thuật viên."}, status_code=403)
        if self.path is None:
            return JSONResponse({"ok": False, "message": "Không biết tệp cấu hình của cơ quan."}, status_code=503)
        try:
            change = await request.json()
            if not isinstance(change, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"ok": False, "message": "Dữ liệu gửi lên không hợp lệ."}, status_code=400)
        return await run_in_threadpool(self._apply, change, staff)

    def _apply(self, change: dict[str, Any], staff: Any) -> Response:
        assert self.path is not None
        with self._lock:
            try:
                text = self.path.read_text(encoding="utf-8")
            except OSError as exc:
                log.error("cannot read %s: %s", self.path, exc)
                return JSONResponse({"ok": False, "message": f"Không đọc được tệp cấu hình {self.path.name}."},
                                    status_code=503)
            try:
                new_text = apply_change(text, change)
                cfg = loads(new_text, str(self.path))
            except ConfigError as exc:
                issues = [{"field": i.field, "message": i.message, "line": i.line} for i in exc.issues]
                log.info("config change by %s refused: %s", staff.login, exc)
                return JSONResponse({"ok": False, "message": "Cấu hình chưa hợp lệ, chưa lưu: xem lỗi bên cạnh từng ô.",
                                     "issues": issues}, status_code=422)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return JSONResponse({"ok": False, "message": f"Dữ liệu gửi lên không hợp lệ ({exc})."}, status_code=400)
            if cfg.office.id != self.c.cfg.office.id:
                return JSONResponse({"ok": False, "message": "Không được đổi mã cơ quan ở đây."}, status_code=400)
            diff = changes(form_of(self.c.cfg), form_of(cfg))
            if not diff:
                return JSONResponse({"ok": True, "message": "Không có gì thay đổi.", "changes": []})
            try:
                prev = write_atomically(self.path, new_text)
            except OSError as exc:
                log.error("cannot write %s: %s", self.path, exc)
                return JSONResponse({"ok": False, "message": f"Không ghi được tệp cấu hình {self.path.name}: máy chủ "
                                     "chưa cho motcua web quyền ghi tệp và thư mục này (xem docs/web.md)."},
                                    status_code=503)
            entry = {"ts": P.rfc3339(datetime.now(cfg.office.tz)), "login": staff.login, "name": staff.name,
                     "changes": diff, "previous": prev.name}
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.history_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            log.info("config changed by %s: %s", staff.login, [d["field"] for d in diff])
            self.on_applied(cfg)
        try:
            reply = self.reload()
        except RequestTimeout:
            return JSONResponse({"ok": False, "saved": True, "message": "Đã lưu nhưng hệ thống xếp hàng chưa trả lời; "
                                 "cấu hình mới sẽ áp dụng khi nạp lại."}, status_code=504)
        if not reply.get("ok"):
            msg = (reply.get("error") or {}).get("message", "")
            return JSONResponse({"ok": False, "saved": True, "message": f"Đã lưu nhưng chưa áp dụng: {msg}"},
                                status_code=502)
        return JSONResponse({"ok": True, "message": "Đã lưu và áp dụng. Hàng chờ trong ngày được giữ nguyên.",
                             "changes": diff})
