"""The manager's desk (`/quan-ly`, manager role): live queues and counters, device alerts that
stay until a manager acknowledges them, and the notice on the TV boards.

All from MQTT, like the console: retained counter/queue state (web/view.py), retained device
status (`device/+/status`) turned into alerts here, and the notice published retained on
`display/notice` (PROTOCOL.md). The browser gets one snapshot and then changed parts over SSE.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from edge import protocol as P
from web.app import SSE_PING_S, Console, Streams, _sse

log = logging.getLogger(__name__)

MANAGER_ROLES = ("manager", "technician")
NOTICE_MAX = 300
PROBLEMS = {  # problem code -> Vietnamese sentence ({d}: device id)
    "offline": "{d} mất kết nối", "paper_out": "Máy in {d} hết giấy", "cover_open": "Máy in {d} mở nắp",
    "paper_low": "Máy in {d} sắp hết giấy", "camera_lost": "Mất tín hiệu camera {d}",
    "upstream_down": "Mất kết nối hệ thống một cửa của tỉnh ({d})", "error": "{d} báo lỗi",
}


def problem_of(st: dict[str, Any]) -> str | None:
    """The problem a device status reports, or None when it is fine."""
    kind, detail = st.get("kind"), st.get("detail") or {}
    if not st.get("online", False):
        return "camera_lost" if kind == "camera" else ("upstream_down" if kind == "hub" else "offline")
    if detail.get("problem") in PROBLEMS:
        return str(detail["problem"])
    if kind == "hub" and detail.get("upstream") in ("down", "invalid_request"):
        return "upstream_down"  # the hub stays up (a warning) while the province's system is away
    if kind == "printer" and detail.get("paper") == "low":
        return "paper_low"
    if st.get("state") == "error":
        return "upstream_down" if kind == "hub" else ("camera_lost" if kind == "camera" else "error")
    return None


class Alerts:
    """Device problems; an alert stays (even once the device is well) until acknowledged."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._lock = threading.Lock()
        self._now = now
        self._seq = 0
        self._alerts: dict[str, dict[str, Any]] = {}  # id -> alert
        self._open: dict[tuple[str, str], str] = {}  # (device, problem) -> alert id
        self.devices: dict[str, dict[str, Any]] = {}
        self.listeners: list[Callable[[str], None]] = []

    def device_status(self, st: dict[str, Any]) -> None:
        dev = str(st.get("device") or "")
        if not dev or dev == "web":
            return
        problem = problem_of(st)
        with self._lock:
            self.devices[dev] = {"device": dev, "kind": st.get("kind"), "online": st.get("online", False),
                                 "state": st.get("state"), "problem": problem}
            for (d, p), aid in list(self._open.items()):
                if d == dev and p != problem:
                    if aid in self._alerts:
                        self._alerts[aid]["active"] = False  # cleared at the device, kept until acknowledged
                    del self._open[(d, p)]
            if problem and (dev, problem) not in self._open:
                self._seq += 1
                aid = f"a{self._seq}"
                self._alerts[aid] = {"id": aid, "device": dev, "kind": st.get("kind"), "problem": problem,
                                     "text": PROBLEMS[problem].format(d=dev), "active": True,
                                     "since": P.rfc3339(self._now()), "acked_by": None}
                self._open[(dev, problem)] = aid
                log.warning("alert %s: %s", aid, self._alerts[aid]["text"])
        for listener in list(self.listeners):
            listener("alerts")

    def ack(self, aid: str, who: str) -> bool:
        with self._lock:
            a = self._alerts.get(aid)
            if a is None:
                return False
            del self._alerts[aid]
            # Still going on: it stays in _open, so the device's next status with the same problem
            # raises no new alert; once it clears and comes back, that is a new alert.
            log.info("alert %s (%s) acknowledged by %s", aid, a["text"], who)
        for listener in list(self.listeners):
            listener("alerts")
        return True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"alerts": sorted(self._alerts.values(), key=lambda a: a["since"], reverse=True),
                    "devices": sorted(self.devices.values(), key=lambda d: d["device"])}


class TodayRatings:
    """Today's ratings from `event/rating` (latest revision per ticket), heard since the daemon started."""

    LEVELS = ("very_satisfied", "satisfied", "unsatisfied")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.day: str | None = None
        self._by_id: dict[str, dict[str, Any]] = {}
        self.listeners: list[Callable[[str], None]] = []

    def event(self, r: dict[str, Any]) -> None:
        with self._lock:
            if self.day is None or r["day"] > self.day:
                self.day, self._by_id = r["day"], {}
            if r["day"] != self.day:
                return
            old = self._by_id.get(r["rating_id"])
            if old is not None and old.get("revision", 1) > r.get("revision", 1):
                return
            self._by_id[r["rating_id"]] = r
        for listener in list(self.listeners):
            listener("ratings")

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rows = list(self._by_id.values())
        counts = {lv: sum(1 for r in rows if r["level"] == lv) for lv in self.LEVELS}
        unhappy = sorted((r for r in rows if r["level"] == "unsatisfied"), key=lambda r: r["submitted_at"], reverse=True)
        return {"day": self.day, "counts": counts, "total": len(rows),
                "unsatisfied": [{"number": r["number"], "counter": r["counter"], "staff": r.get("staff"),
                                 "reasons": r.get("reasons") or [], "comment": r.get("comment"),
                                 "at": r["submitted_at"]} for r in unhappy[:50]]}


class ManagerDesk:
    def __init__(self, console: Console, alerts: Alerts, notice_topic: str,
                 publish: Callable[[str, Any], None], ratings: TodayRatings | None = None,
                 schedule_path: Path | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.c = console
        self.now = now or (lambda: datetime.now(console.cfg.office.tz))
        self.schedule_path = schedule_path
        self._sched_lock = threading.Lock()
        self.scheduled: list[dict[str, Any]] = self._load_schedule()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._schedule_loop, name="web-notice-schedule", daemon=True)
        self.ratings = ratings or TodayRatings()
        self.notice_topic = notice_topic
        self.cfg = console.cfg
        self.alerts = alerts
        self.publish = publish
        self.notice: dict[str, Any] | None = None
        self.streams = Streams()
        console.view.listeners.append(self.streams.changed)
        alerts.listeners.append(self.streams.changed)
        self.ratings.listeners.append(self.streams.changed)

    # ------------------------------------------------------------------ scheduled notices

    def _load_schedule(self) -> list[dict[str, Any]]:
        if self.schedule_path is None or not self.schedule_path.exists():
            return []
        try:
            items = json.loads(self.schedule_path.read_text(encoding="utf-8"))
            return [i for i in items if isinstance(i, dict) and {"id", "text", "start"} <= set(i)]
        except ValueError:
            log.warning("%s is not JSON: scheduled notices dropped", self.schedule_path)
            return []

    def _save_schedule(self) -> None:
        if self.schedule_path is None:
            return
        tmp = self.schedule_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.scheduled, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.schedule_path)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer.is_alive():
            self._timer.join(timeout=5)

    def due(self) -> None:
        """Publish every scheduled notice whose start has come (kept on disk until then)."""
        now = self.now()
        with self._sched_lock:
            due = [i for i in self.scheduled if datetime.fromisoformat(i["start"]) <= now]
            if not due:
                return
            self.scheduled = [i for i in self.scheduled if i not in due]
            self._save_schedule()
        for item in due[-1:]:  # one notice line: the latest due one wins
            until = None
            if item.get("minutes"):
                until = P.rfc3339(datetime.fromisoformat(item["start"]) + timedelta(minutes=int(item["minutes"])))
            self.publish(self.notice_topic, P.Notice(text=item["text"], until=until, boards=item.get("boards")).wire())
            log.info("scheduled notice %s (by %s) posted", item["id"], item.get("by"))
        self.streams.changed("schedule")

    def _schedule_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.due()
            except Exception:  # noqa: BLE001 - a bad entry must not stop the timer
                log.exception("scheduled notices")

    def routes(self) -> list[Route]:
        return [Route("/quan-ly", self.page), Route("/api/manager/state", self.state),
                Route("/api/manager/notice/scheduled/{sid}/cancel", self.cancel_scheduled, methods=["POST"]),
                Route("/api/manager/events", self.events),
                Route("/api/manager/alerts/{aid}/ack", self.ack, methods=["POST"]),
                Route("/api/manager/notice", self.post_notice, methods=["POST"])]

    async def _manager(self, request: Request):
        staff = await run_in_threadpool(self.c.user, request)
        return staff if staff is not None and staff.role in MANAGER_ROLES else None

    def set_notice(self, payload: bytes) -> None:
        """From the bus: the retained notice as the boards have it."""
        try:
            self.notice = json.loads(payload) if payload else None
        except ValueError:
            self.notice = None
        self.streams.changed("notice")

    # ------------------------------------------------------------------ live figures

    def queues(self) -> list[dict[str, Any]]:
        now = time.time()
        longest: dict[str, float] = {}
        for t in self.c.view.waiting_list():
            if t["status"] != "waiting":
                continue
            try:
                waited = now - datetime.fromisoformat(t["issued_at"]).timestamp()
            except ValueError:
                continue
            longest[t["service"]] = max(longest.get(t["service"], 0.0), waited)
        q = self.c.view.part("queue") or {}
        return [{"code": s["code"], "name": s["name"], "open": s["open"], "waiting": s["waiting"],
                 "longest_wait_s": int(longest[s["code"]]) if s["code"] in longest else None,
                 "estimated_wait_s": s.get("estimated_wait_s")} for s in q.get("services") or []]

    def counters(self) -> list[dict[str, Any]]:
        out = []
        for c in self.cfg.counters:
            st = self.c.view.counter(c.number) or {}
            serving = st.get("serving") or {}
            out.append({"number": c.number, "name": c.label, "status": st.get("status", "closed"),
                        "reason": st.get("reason"), "staff": st.get("staff"), "serving": serving.get("number")})
        return out

    def part(self, key: str) -> tuple[str, Any]:
        if key == "alerts":
            return "alerts", self.alerts.snapshot()
        if key == "notice":
            return "notice", self.notice
        if key == "ratings":
            return "ratings", self.ratings.snapshot()
        if key == "schedule":
            return "scheduled", self.scheduled_list()
        if key.startswith("counter:"):
            return "counters", self.counters()
        return "queues", self.queues()

    def snapshot(self) -> dict[str, Any]:
        return {"queues": self.queues(), "counters": self.counters(), "alerts": self.alerts.snapshot(),
                "notice": self.notice, "ratings": self.ratings.snapshot(),
                "scheduled": self.scheduled_list(), "now": time.time()}

    def boards(self) -> list[str]:
        """The calling displays a notice can be aimed at (display devices in calling mode)."""
        return [d.id for d in self.cfg.devices if d.kind == "display" and getattr(d, "mode", "calling") == "calling"]

    def scheduled_list(self) -> list[dict[str, Any]]:
        with self._sched_lock:
            return sorted(self.scheduled, key=lambda i: i["start"])

    # ------------------------------------------------------------------ pages

    async def page(self, request: Request) -> Response:
        staff = await self._manager(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        boot = {"me": staff.name, "boards": self.boards(), **self.snapshot()}
        return self.c.templates.TemplateResponse(request, "manager.html", {
            "office": self.cfg.office.name, "csrf": self.c.csrf(request), "me": staff, "lang": "vi",
            "boot": json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")})

    async def state(self, request: Request) -> Response:
        if await self._manager(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=401)
        return JSONResponse(self.snapshot())

    async def events(self, request: Request) -> Response:
        if await self._manager(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=401)
        if self.streams.loop is None:
            self.streams.loop = asyncio.get_running_loop()
        client = self.streams.add()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n" + _sse("snapshot", self.snapshot())
                while not self.streams.closing:
                    try:
                        await asyncio.wait_for(client.wake.wait(), SSE_PING_S)
                    except asyncio.TimeoutError:
                        yield b": ping\n\n"
                        continue
                    client.wake.clear()
                    keys, client.dirty = client.dirty, set()
                    for name, value in dict(self.part(k) for k in sorted(keys)).items():
                        yield _sse("part", {"key": name, "value": value})
            finally:
                self.streams.remove(client)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def _checked(self, request: Request):
        if not self.c.csrf_ok(request):
            return None, JSONResponse({"ok": False, "message": "Yêu cầu không hợp lệ (mã bảo vệ sai)."}, status_code=403)
        staff = await self._manager(request)
        if staff is None:
            return None, JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=403)
        return staff, None

    async def ack(self, request: Request) -> Response:
        staff, err = await self._checked(request)
        if err is not None:
            return err
        if not self.alerts.ack(request.path_params["aid"][:16], staff.login):
            return JSONResponse({"ok": False, "message": "Cảnh báo này đã được xác nhận."}, status_code=404)
        return JSONResponse({"ok": True, "message": "Đã xác nhận cảnh báo."})

    async def post_notice(self, request: Request) -> Response:
        staff, err = await self._checked(request)
        if err is not None:
            return err
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"ok": False, "message": "Dữ liệu gửi lên không hợp lệ."}, status_code=400)
        text = " ".join(str(body.get("text") or "").split())
        if not text:
            await run_in_threadpool(self.publish, self.notice_topic, b"")
            log.info("notice cleared by %s", staff.login)
            return JSONResponse({"ok": True, "message": "Đã gỡ thông báo trên màn hình."})
        if len(text) > NOTICE_MAX:
            return JSONResponse({"ok": False, "message": f"Thông báo dài quá {NOTICE_MAX} ký tự."}, status_code=400)
        until = None
        minutes = body.get("minutes")
        if minutes not in (None, ""):
            try:
                m = int(minutes)
                if not 1 <= m <= 7 * 24 * 60:
                    raise ValueError
            except (TypeError, ValueError):
                return JSONResponse({"ok": False, "message": "Thời gian hiển thị phải từ 1 phút đến 7 ngày."},
                                    status_code=400)
            until = P.rfc3339(self.now() + timedelta(minutes=m))
        boards = body.get("boards") or None
        if boards is not None:
            known = self.boards()
            if not isinstance(boards, list) or not all(isinstance(b, str) and b in known for b in boards):
                return JSONResponse({"ok": False, "message": "Chọn màn hình có trong cấu hình."}, status_code=400)
        start = body.get("start")
        if start:
            try:
                at = datetime.fromisoformat(str(start))
                at = at.replace(tzinfo=self.cfg.office.tz) if at.tzinfo is None else at
            except ValueError:
                return JSONResponse({"ok": False, "message": "Thời điểm bắt đầu không hợp lệ."}, status_code=400)
            if at > self.now() + timedelta(seconds=5):
                with self._sched_lock:
                    sid = secrets.token_hex(4)
                    self.scheduled.append({"id": sid, "text": P.nfc(text), "start": P.rfc3339(at),
                                           "minutes": int(minutes) if minutes not in (None, "") else None,
                                           "boards": boards, "by": staff.login})
                    await run_in_threadpool(self._save_schedule)
                self.streams.changed("schedule")
                log.info("notice scheduled by %s for %s", staff.login, at)
                return JSONResponse({"ok": True, "message": f"Đã hẹn đăng thông báo lúc {at:%H:%M %d/%m/%Y}."})
        notice = P.Notice(text=P.nfc(text), until=until, boards=boards)
        await run_in_threadpool(self.publish, self.notice_topic, notice.wire())
        log.info("notice posted by %s until %s", staff.login, until)
        return JSONResponse({"ok": True, "message": "Đã đăng thông báo lên màn hình."})

    async def cancel_scheduled(self, request: Request) -> Response:
        staff, err = await self._checked(request)
        if err is not None:
            return err
        sid = request.path_params["sid"][:16]
        with self._sched_lock:
            kept = [i for i in self.scheduled if i["id"] != sid]
            found = len(kept) != len(self.scheduled)
            self.scheduled = kept
            if found:
                self._save_schedule()
        if not found:
            return JSONResponse({"ok": False, "message": "Không còn thông báo hẹn giờ này."}, status_code=404)
        self.streams.changed("schedule")
        log.info("scheduled notice %s cancelled by %s", sid, staff.login)
        return JSONResponse({"ok": True, "message": "Đã hủy thông báo hẹn giờ."})
