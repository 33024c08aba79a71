"""Staff accounts from the manager's desk: list, add, disable/enable, reset a password, set the
counters a clerk may open. The same store and rules as `motcua staff` (edge/staff.py); the
checks a manager can get wrong are answered here in plain Vietnamese first. A manager makes
clerk and manager accounts only (technicians are made with `motcua staff`) and cannot disable
their own account.
"""
from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.staff import LOGIN_RE, MIN_PASSWORD, StaffError
from web.app import Console
from web.manager import MANAGER_ROLES

log = logging.getLogger(__name__)

ROLES_A_MANAGER_GIVES = ("clerk", "manager")
ROLE_NAMES = {"clerk": "Cán bộ", "manager": "Quản lý", "technician": "Kỹ thuật viên"}


class StaffAdmin:
    def __init__(self, console: Console) -> None:
        self.c = console

    def routes(self) -> list[Route]:
        return [Route("/api/manager/staff", self.list_staff),
                Route("/api/manager/staff", self.change, methods=["POST"])]

    def _rows(self) -> list[dict[str, Any]]:
        with self.c._store_lock:
            store = self.c.store_factory()
            return [s.public() for s in store.all()] if store is not None else []

    async def _manager(self, request: Request):
        staff = await run_in_threadpool(self.c.user, request)
        return staff if staff is not None and staff.role in MANAGER_ROLES else None

    async def list_staff(self, request: Request) -> Response:
        if await self._manager(request) is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=401)
        return JSONResponse({"ok": True, "staff": await run_in_threadpool(self._rows)})

    async def change(self, request: Request) -> Response:
        if not self.c.csrf_ok(request):
            return JSONResponse({"ok": False, "message": "Yêu cầu không hợp lệ (mã bảo vệ sai)."}, status_code=403)
        me = await self._manager(request)
        if me is None:
            return JSONResponse({"ok": False, "message": "Cần đăng nhập bằng tài khoản quản lý."}, status_code=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"ok": False, "message": "Dữ liệu gửi lên không hợp lệ."}, status_code=400)
        problem = self.check(body, me.login)
        if problem:
            return JSONResponse({"ok": False, "message": problem}, status_code=400)
        try:
            message = await run_in_threadpool(self._apply, body)
        except StaffError as exc:
            return JSONResponse({"ok": False, "message": f"Không thực hiện được: {exc}"}, status_code=400)
        log.info("%s: staff %s %s", me.login, body.get("op"), body.get("login"))
        return JSONResponse({"ok": True, "message": message, "staff": await run_in_threadpool(self._rows)})

    def counters(self, value: Any) -> list[int] | None:
        items = value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")
        out = []
        for x in items:
            try:
                n = int(str(x).strip())
            except ValueError:
                return None
            if self.c.cfg.counter(n) is None:
                return None
            out.append(n)
        return out

    def check(self, body: dict[str, Any], me: str) -> str | None:
        op, login = body.get("op"), str(body.get("login") or "").strip().lower()
        if op not in ("add", "disable", "enable", "password", "counters"):
            return "Thao tác không hợp lệ."
        if not LOGIN_RE.match(login):
            return "Tên đăng nhập gồm 2–32 chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang."
        if op in ("add", "password") and len(str(body.get("password") or "")) < MIN_PASSWORD:
            return f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự."
        if op == "add":
            name = " ".join(str(body.get("name") or "").split())
            if not name or len(name) > 100:
                return "Nhập họ tên (tối đa 100 ký tự)."
            if body.get("role") not in ROLES_A_MANAGER_GIVES:
                return "Quản lý chỉ tạo được tài khoản cán bộ hoặc quản lý."
        if op in ("add", "counters") and self.counters(body.get("counters")) is None:
            return "Danh sách quầy không đúng: ghi số quầy có trong cấu hình, cách nhau bằng dấu phẩy."
        if op == "disable" and login == me:
            return "Không thể tự khóa tài khoản của mình."
        return None

    def _apply(self, body: dict[str, Any]) -> str:
        op, login = body["op"], str(body["login"]).strip().lower()
        with self.c._store_lock:
            store = self.c.store_factory()
            if store is None:
                raise StaffError("chưa có kho tài khoản (motcua staff add)")
            if op != "add" and store.get(login) is None:
                raise StaffError(f"không có tài khoản {login}")
            if op == "add":
                if store.get(login) is not None:
                    raise StaffError(f"tên đăng nhập {login} đã có")
                s = store.add(login, str(body["name"]), str(body["role"]), str(body["password"]),
                              counters=self.counters(body.get("counters")))
                return f"Đã tạo tài khoản {s.login} ({ROLE_NAMES[s.role]})."
            if op in ("disable", "enable"):
                store.set_disabled(login, op == "disable")
                return f"Đã {'khóa' if op == 'disable' else 'mở lại'} tài khoản {login}."
            if op == "password":
                store.set_password(login, str(body["password"]))
                return f"Đã đặt lại mật khẩu cho {login}."
            store.set_counters(login, self.counters(body.get("counters")) or [])
            return f"Đã cập nhật quầy của {login}."
