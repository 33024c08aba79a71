"""The provincial system behind an adapter interface, and the reference REST adapter (UPSTREAM.md).

Adapters speak canonical names (``MaHoSo``, ``LayDanhSachHoSoCapNhat``...); a province that
renames fields or services is handled by the REST adapter's maps, and one with a different
protocol by another adapter in ``ADAPTERS``. Every call is bounded by a timeout and turns
every failure into one of three exceptions, so the sync, lookup and outbox code decides what
to do from the class alone.
"""
from __future__ import annotations

import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)

#: Canonical service names.
LOOKUP = "TraCuuHoSo"
CHANGED = "LayDanhSachHoSoCapNhat"
PUSH_RATINGS = "DongBoDanhGia"
PUSH_STATS = "DongBoSoLieuXepHang"
PROCEDURES = "LayDanhSachTTHC"  # extension: the procedure catalogue
STEPS = "LayQuaTrinhXuLy"
LIST_APPOINTMENTS = "LayDanhSachLichHen"  # extension: bookings changed since a time (hub/appointments.py)
PUSH_APPOINTMENT = "CapNhatLichHen"       # extension: a booking redeemed (3) or expired (4)


class UpstreamError(Exception):
    """Base of every upstream failure."""


class UpstreamDown(UpstreamError):
    """Transient trouble (HTTP 5xx/429, timeout, refused, unknown error_code): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamInvalid(UpstreamError):
    """error_code 2 (request invalid) or a refused login: do not retry; show on the device status."""


class AlreadyExists(UpstreamError):
    """error_code 3 on a push: repeat it as an update."""


@dataclass
class Page:
    total: int
    records: list[dict[str, Any]] = field(default_factory=list)


class Adapter(Protocol):
    """What the hub needs from a provincial system."""

    def authenticate(self, timeout: float | None = None) -> None: ...
    def changed_since(self, since: str, page: int, size: int, timeout: float | None = None) -> Page: ...
    def fetch(self, code: str, timeout: float | None = None) -> dict[str, Any] | None: ...
    def steps(self, code: str, timeout: float | None = None) -> list[dict[str, Any]]: ...
    def push(self, service: str, data: dict[str, Any], update: bool = False,
             timeout: float | None = None) -> int: ...
    def list_procedures(self, since: str, page: int, size: int, timeout: float | None = None) -> Page: ...


class RestAdapter:
    """UPSTREAM.md's envelope over HTTP or HTTPS, with renamed fields and services."""

    def __init__(self, base_url: str, *, username: str, password: str | None = None,
                 password_file: str | None = None, madonvi: str,
                 dstcode: str = "", auth_path: str = "/auth", service_path: str = "/service",
                 field_map: dict[str, str] | None = None, service_names: dict[str, str] | None = None,
                 timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.username = username
        self._password = password
        self._password_file = password_file
        self.madonvi = madonvi
        self.dstcode = dstcode
        self.auth_url = self.base + auth_path
        self.service_url = self.base + service_path
        self.out_names = dict(field_map or {})
        self.in_names = {v: k for k, v in self.out_names.items()}
        self.services = dict(service_names or {})
        self.timeout = timeout
        self._ssl = ssl_context
        self._session: str | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ interface

    def _secret(self) -> str:
        """The password, read from its file at each login (so it can be rotated without a restart)."""
        if self._password_file is None:
            return self._password or ""
        try:
            return open(self._password_file, encoding="utf-8").read().strip()
        except OSError as exc:
            raise UpstreamInvalid(f"cannot read the upstream password file {self._password_file}: "
                                  f"{exc.strerror}") from None

    def authenticate(self, timeout: float | None = None) -> None:
        ans = self._post(self.auth_url, {"username": self.username, "password": self._secret()}, timeout)
        if ans.get("error_code") != 0 or not isinstance(ans.get("session"), str):
            raise UpstreamInvalid(f"upstream refused the login of {self.username!r} "
                                  f"(error_code {ans.get('error_code')!r})")
        with self._lock:
            self._session = ans["session"]

    def changed_since(self, since: str, page: int, size: int, timeout: float | None = None) -> Page:
        return self.list_since(CHANGED, since, page, size, timeout)

    def list_since(self, service: str, since: str, page: int, size: int, timeout: float | None = None) -> Page:
        """One page of a ``{TuNgay, Trang, SoLuong}`` listing (dossiers, bookings)."""
        res = self.call(service, {"TuNgay": since, "Trang": page, "SoLuong": size}, timeout)
        if not isinstance(res, dict):
            raise UpstreamDown(f"{service} answered a {type(res).__name__}, not an object")
        res = self._rename_in(res)
        records = res.get("DanhSach") or []
        if not isinstance(records, list):
            raise UpstreamDown(f"{service}: DanhSach is not a list")
        try:
            total = int(res.get("TongSo", len(records)))
        except (TypeError, ValueError):
            total = len(records)
        return Page(total, [self._rename_in(r) if isinstance(r, dict) else r for r in records])

    def list_procedures(self, since: str, page: int, size: int, timeout: float | None = None) -> Page:
        """One page of LayDanhSachTTHC: procedures changed since `since` ("" for all)."""
        res = self.call(PROCEDURES, {"TuNgay": since, "Trang": page, "SoLuong": size}, timeout)
        if not isinstance(res, dict) or not isinstance(res.get("DanhSach", []), list):
            raise UpstreamDown(f"{PROCEDURES} answered something that is not {{TongSo, DanhSach}}")
        res = self._rename_in(res)
        records = [self._rename_in(r) if isinstance(r, dict) else r for r in res.get("DanhSach") or []]
        try:
            total = int(res.get("TongSo", len(records)))
        except (TypeError, ValueError):
            total = len(records)
        return Page(total, records)

    def fetch(self, code: str, timeout: float | None = None) -> dict[str, Any] | None:
        res = self.call(LOOKUP, {"MaHoSo": code}, timeout)
        if isinstance(res, dict):
            res = [res]
        if not isinstance(res, list):
            raise UpstreamDown(f"{LOOKUP} answered a {type(res).__name__}, not a list")
        for rec in res:
            if isinstance(rec, dict):
                rec = self._rename_in(rec)
                if str(rec.get("MaHoSo", "")).strip().upper() == code.upper():
                    return rec
        return None

    def steps(self, code: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """``LayQuaTrinhXuLy`` (an extension): the dossier's steps, oldest first."""
        res = self.call(STEPS, {"MaHoSo": code}, timeout)
        if isinstance(res, dict):
            res = self._rename_in(res).get("DanhSach", [])
        if not isinstance(res, list):
            raise UpstreamDown(f"{STEPS} answered a {type(res).__name__}, not a list")
        return [self._rename_in(x) for x in res if isinstance(x, dict)]

    def push(self, service: str, data: dict[str, Any], update: bool = False,
             timeout: float | None = None) -> int:
        body = dict(data)
        if update:
            body["isUpdating"] = "True"
        res = self.call(service, body, timeout)
        if isinstance(res, dict):
            res = self._rename_in(res)
            try:
                return int(res.get("SoLuong", 0))
            except (TypeError, ValueError):
                return 0
        return 0

    # ------------------------------------------------------------------ envelope

    def call(self, service: str, data: dict[str, Any], timeout: float | None = None) -> Any:
        """One service call; on error_code 1 log in again and repeat it once."""
        for attempt in (1, 2):
            with self._lock:
                session = self._session
            if session is None:
                self.authenticate(timeout)
                with self._lock:
                    session = self._session
            body = {"session": session, "madonvi": self.madonvi,
                    "service": self.services.get(service, service), "data": self._rename_out(data)}
            ans = self._post(self.service_url, body, timeout)
            code = ans.get("error_code")
            if code == 0:
                return ans.get("result")
            if code == 1 and attempt == 1:
                log.info("upstream session expired; logging in again")
                with self._lock:
                    self._session = None
                continue
            if code == 2:
                raise UpstreamInvalid(f"{service} refused as invalid: {_short(ans)}")
            if code == 3:
                raise AlreadyExists(f"{service}: record already exists")
            raise UpstreamDown(f"{service}: error_code {code!r}: {_short(ans)}")
        raise UpstreamDown(f"{service}: session expired twice in a row")

    def _post(self, url: str, body: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "dstcode": self.dstcode})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._ssl) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            retry = exc.headers.get("Retry-After") if exc.headers else None
            raise UpstreamDown(f"HTTP {exc.code} from {url}",
                               float(retry) if retry and retry.isdigit() else None) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise UpstreamDown(f"{url}: {getattr(exc, 'reason', exc)}") from None
        try:
            ans = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UpstreamDown(f"{url} answered something that is not JSON ({len(raw)} bytes)") from None
        if not isinstance(ans, dict):
            raise UpstreamDown(f"{url} answered a JSON {type(ans).__name__}, not an object")
        return ans

    def _rename_out(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.out_names:
            return data
        return {self.out_names.get(k, k): (self._rename_list(v, self._rename_out)) for k, v in data.items()}

    def _rename_in(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.in_names:
            return data
        return {self.in_names.get(k, k): v for k, v in data.items()}

    @staticmethod
    def _rename_list(v: Any, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
        if isinstance(v, list):
            return [fn(x) if isinstance(x, dict) else x for x in v]
        return v


def _short(ans: dict[str, Any]) -> str:
    """The answer without session tokens, cut short, for logs and the device status."""
    text = json.dumps({k: v for k, v in ans.items() if k != "session"}, ensure_ascii=False)
    return text[:300]
