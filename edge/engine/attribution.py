"""Who acts at a counter: the engine's check of a command's clerk against the staff store.

The web console names its signed-in clerk (`staff_login`, signed with the claim key of
edge/staff.py); a keypad sends the clerk's code and PIN with `open`. The engine checks
the signature and looks both up in DATA/staff/staff.db, so a clerk can neither be
impersonated by a name in a payload nor act on a counter not theirs, whichever client
sent the command. Offices without a staff store (the simulator, old
installs) keep the v1 behaviour: the `staff` name of `open` is taken as it is.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from edge import protocol as P
from edge.config.model import Counter
from edge.engine.errors import EngineError
from edge.i18n import nt, t
from edge.staff import Locked, Staff, StaffStore, claim_key, claim_ok

log = logging.getLogger(__name__)


class Attribution:
    def __init__(self, path: Path | None, data_dir: Path | None = None) -> None:
        self.path = path
        self.data_dir = data_dir
        self._store: StaffStore | None = None
        self._key: bytes | None = None

    def store(self) -> StaffStore | None:
        """The staff store, opened once it exists (it may be created after the engine starts)."""
        if self._store is None and self.path is not None and self.path.exists():
            try:
                self._store = StaffStore(self.path, create=False)
            except (OSError, sqlite3.Error) as exc:
                log.error("cannot open the staff store %s: %s", self.path, exc)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _permitted(self, staff: Staff | None, counter: Counter) -> Staff:
        if staff is None or staff.disabled:
            raise EngineError("bad_request", t("Tài khoản cán bộ không hợp lệ hoặc đã bị khóa."))
        if not staff.may_open(counter.number):
            raise EngineError("bad_request", t("Cán bộ {name} không được làm việc tại {counter}.", name=staff.name, counter=counter.label))
        return staff

    def opener(self, req: P.CounterCommand, counter: Counter) -> tuple[str | None, str | None]:
        """(login, name) of the clerk signing in with `open`."""
        store = self.store()
        if req.staff_code is not None:
            if store is None:
                raise EngineError("bad_request", t("Văn phòng chưa có tài khoản cán bộ để đăng nhập bằng mã."))
            if not req.pin:
                raise EngineError("bad_request", t("Thiếu mã PIN."))
            try:
                staff = store.check_pin(req.staff_code, req.pin)
            except Locked as exc:
                minutes = max(1, exc.seconds // 60)
                raise EngineError("rate_limited", nt("Nhập sai nhiều lần. Thử lại sau {n} phút.",
                                                     "Nhập sai nhiều lần. Thử lại sau {n} phút.", minutes)) from None
            if staff is None:
                raise EngineError("bad_request", t("Mã cán bộ hoặc mã PIN không đúng."))
            staff = self._permitted(staff, counter)
            return staff.login, staff.name
        if req.staff_login is not None:
            return self.actor(req, counter, None, None)
        return None, req.staff

    def actor(self, req: P.CounterCommand, counter: Counter, login: str | None,
              name: str | None) -> tuple[str | None, str | None]:
        """(login, name) of whoever acts: the command's clerk if named, else the counter's."""
        if req.staff_login is None:
            return login, name
        store = self.store()
        if store is None:
            return req.staff_login, req.staff or name
        if self._key is None and self.data_dir is not None:
            self._key = claim_key(self.data_dir)
        if self._key is None or not claim_ok(self._key, req.id, counter.number, req.staff_login,
                                             req.staff_ts, req.staff_sig):
            log.warning("counter %d: unsigned or stale claim to be %s refused", counter.number, req.staff_login)
            raise EngineError("bad_request", t("Lệnh nhân danh cán bộ không có chữ ký hợp lệ của bàn làm việc."))
        staff = self._permitted(store.get(req.staff_login), counter)
        return staff.login, staff.name
