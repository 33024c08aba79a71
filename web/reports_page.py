"""Reports in the browser (`/bao-cao`, manager role): a day, a week, a month, six months, a
year or a chosen range, by service, counter and clerk, with charts and the XLSX/CSV files.

How a report reaches the browser without anyone but the report writer touching the
engine's database: the web daemon runs `motcua report CONFIG --data DATA --out DIR` (the
same command and code as on the command line, edge/reports, which opens the engine's
SQLite read-only) in a child process, then reads only the files it wrote — the CSV tables
for the page, the PNG charts and the XLSX/CSV for download. The browser gets those files,
never a query. One report is made at a time; a period's files are reused for 5 minutes.
"""
from __future__ import annotations

import calendar
import csv
import json
import logging
import re
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from web.app import Console
from web.manager import MANAGER_ROLES

log = logging.getLogger(__name__)

FILE_RE = re.compile(r"^bao-cao-[0-9W-]+(-csv/[a-z_]+\.csv|-[a-z-]+\.png|\.xlsx)$")
REUSE_S = 300
MAX_DAYS = 366 * 2
TIMEOUT_S = 180
SHOWN = ("times_by_service", "times_by_counter", "times_by_staff", "work_by_staff", "by_day",
         "satisfaction_by_counter", "satisfaction_by_staff", "satisfaction_by_service", "reasons")


class PeriodError(ValueError):
    """A period the page cannot make a report of (the message is for the manager)."""


def period_args(kind: str, day: date, end: date | None) -> list[str]:
    """The `motcua report` period arguments for the page's choice."""
    if kind == "day":
        return ["--day", day.isoformat()]
    if kind == "week":
        return ["--week", day.isoformat()]
    if kind == "month":
        return ["--month", f"{day:%Y-%m}"]
    if kind == "6months":  # the six calendar months ending with the chosen one
        y, m = day.year, day.month - 5
        if m < 1:
            y, m = y - 1, m + 12
        last = calendar.monthrange(day.year, day.month)[1]
        return ["--range", date(y, m, 1).isoformat(), date(day.year, day.month, last).isoformat()]
    if kind == "year":
        return ["--range", date(day.year, 1, 1).isoformat(), date(day.year, 12, 31).isoformat()]
    if kind == "range" and end is not None:
        if end < day:
            raise PeriodError("Ngày kết thúc phải sau ngày bắt đầu.")
        if (end - day).days > MAX_DAYS:
            raise PeriodError("Khoảng thời gian tối đa là hai năm.")
        return ["--range", day.isoformat(), end.isoformat()]
    raise PeriodError("Chọn loại kỳ báo cáo.")


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


class ReportsPage:
    def __init__(self, console: Console, config_path: Path | None, data_dir: Path, out_dir: Path) -> None:
        self.c = console
        self.config_path = config_path
        self.data_dir = data_dir
        self.out = out_dir
        self._lock = threading.Lock()
        self._made: dict[str, float] = {}
        self._labels: dict[str, str] = {}

    def routes(self) -> list[Route]:
        return [Route("/bao-cao", self.page), Route("/api/manager/report", self.make, methods=["POST"]),
                Route("/api/manager/report-file/{name:path}", self.file)]

    async def _manager(self, request: Request):
        staff = await run_in_threadpool(self.c.user, request)
        return staff if staff is not None and staff.role in MANAGER_ROLES else None

    async def page(self, request: Request) -> Response:
        staff = await self._manager(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        return self.c.templates.TemplateResponse(request, "reports.html", {
            "office": self.c.cfg.office.name, "csrf": self.c.csrf(request), "me": staff,
            "today": date.today().isoformat()})

    async def make(self, request: Request) -> Response:
        if not self.c.csrf_ok(request):
            return JSONResponse({"ok": False, "message": "Yêu cầu không hợp lệ (mã bảo vệ sai)."}, status_code=403)
        if await self._manager(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=403)
        try:
            body = await request.json()
            day = date.fromisoformat(str(body.get("date")))
            end = date.fromisoformat(str(body["end"])) if body.get("end") else None
            args = period_args(str(body.get("kind")), day, end)
        except PeriodError as exc:
            return JSONResponse({"ok": False, "message": str(exc)}, status_code=400)
        except ValueError:
            return JSONResponse({"ok": False, "message": "Ngày không hợp lệ (chọn ngày trên lịch)."}, status_code=400)
        except (TypeError, KeyError, AttributeError):
            return JSONResponse({"ok": False, "message": "Dữ liệu gửi lên không hợp lệ."}, status_code=400)
        return await run_in_threadpool(self._make, args)

    def _make(self, args: list[str]) -> Response:
        if self.config_path is None:
            return JSONResponse({"ok": False, "message": "Không biết tệp cấu hình của cơ quan."}, status_code=503)
        key = " ".join(args)
        with self._lock:
            if time.monotonic() - self._made.get(key, -1e9) > REUSE_S:
                cmd = [sys.executable, "-m", "edge.cli", "report", str(self.config_path), "--data",
                       str(self.data_dir), *args, "--out", str(self.out)]
                try:
                    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    return JSONResponse({"ok": False, "message": "Báo cáo lâu quá, vui lòng chọn kỳ ngắn hơn."},
                                        status_code=504)
                if done.returncode != 0:
                    log.warning("motcua report %s failed: %s", key, done.stderr.strip()[-500:])
                    return JSONResponse({"ok": False, "message": "Chưa có số liệu của hệ thống xếp hàng."
                                         if done.returncode == 1 else "Không lập được báo cáo."}, status_code=500)
                self._made[key] = time.monotonic()
                self._labels[key] = json.loads(done.stdout.strip().splitlines()[-1])["period"]
            label = self._labels[key]
        return JSONResponse({"ok": True, **self.read(label)})

    def read(self, label: str) -> dict[str, Any]:
        """What the page shows, from the files `motcua report` wrote."""
        stem = f"bao-cao-{label}"
        folder = self.out / f"{stem}-csv"
        tables = {}
        for name in SHOWN:
            path = folder / f"{name}.csv"
            if path.exists():
                rows = _csv(path)
                tables[name] = {"columns": rows[0] if rows else [], "rows": rows[1:]}
        summary = _csv(folder / "summary.csv")[1:] if (folder / "summary.csv").exists() else []
        charts = sorted(p.name for p in self.out.glob(f"{stem}-*.png"))
        downloads = [f"{stem}.xlsx"] + [f"{stem}-csv/{p.name}" for p in sorted(folder.glob("*.csv"))]
        return {"label": label, "summary": summary, "tables": tables, "charts": charts, "downloads": downloads}

    async def file(self, request: Request) -> Response:
        if await self._manager(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=401)
        name = request.path_params["name"]
        path = (self.out / name).resolve()
        if not FILE_RE.match(name) or self.out.resolve() not in path.parents or not path.is_file():
            return JSONResponse({"ok": False, "message": "Không có tệp này."}, status_code=404)
        return FileResponse(path, filename=path.name if path.suffix != ".png" else None)
