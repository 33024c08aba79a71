"""An upstream simulator: a small HTTP server speaking UPSTREAM.md, for the demo and the tests.

It generates realistic dossiers and can misbehave the way provincial gateways do: latency,
HTTP 429/503, dropped connections, a listener that goes away and comes back, expired
sessions (error_code 1), invalid-request refusals (error_code 2), many records sharing one
``NgayCapNhat``, records changing between pages, duplicates in a page, and an older version
served after a newer one. Tests drive those through ``Faults`` and the mutation methods.

``motcua upstream-sim [--port P] [--dossiers N] ...`` runs it standalone.
"""
from __future__ import annotations

import argparse
import bisect
import json
import logging
import random
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hub.dossier import STATUS_TEXT

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FMT = "%Y%m%d%H%M%S"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Xuân", "Thu", "Công", "Bảo"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
         "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm",
         "Thảo", "Trang", "Trung", "Tuấn", "Uyên", "Vy", "Yến", "Ánh", "Đạt", "Ơn", "Ước"]
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "HT", "Hộ tịch", 1),
    ("1.001022", "Đăng ký kết hôn", "HT", "Hộ tịch", 1),
    ("2.000908", "Chứng thực bản sao từ bản chính", "CT", "Chứng thực", 1),
    ("1.004227", "Cấp giấy chứng nhận quyền sử dụng đất lần đầu", "DD", "Đất đai", 30),
    ("1.003010", "Đăng ký biến động quyền sử dụng đất", "DD", "Đất đai", 10),
    ("1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "XD", "Xây dựng", 15),
    ("1.001776", "Đăng ký thành lập hộ kinh doanh", "KT", "Kinh tế", 3),
    ("1.002389", "Trợ cấp xã hội hằng tháng", "BTXH", "Bảo trợ xã hội", 20),
]
DOCS = ["Tờ khai (bản chính)", "Bản sao chứng thực Giấy chứng nhận quyền sử dụng đất",
        "Bản vẽ hiện trạng nhà ở", "Giấy ủy quyền có chứng thực", "Bản sao Giấy khai sinh",
        "Văn bản thỏa thuận phân chia di sản"]
#: Units of a commune or ward since 1 July 2025 (two levels of local government, no districts).
UNITS = ["Bộ phận một cửa", "Văn phòng HĐND và UBND", "Phòng Kinh tế",
         "Chi nhánh Văn phòng đăng ký đất đai", "Phòng Văn hóa - Xã hội", "Công chức Tư pháp - Hộ tịch"]


def fmt(dt: datetime) -> str:
    return dt.astimezone(TZ).strftime(FMT)


@dataclass
class Faults:
    """What the simulator does wrong; change the fields at any time (tests do)."""

    latency_s: float = 0.0          # added to every answer
    error_rate: float = 0.0         # share of service calls answered HTTP 503
    throttle_rate: float = 0.0      # share answered HTTP 429 with Retry-After: 1
    down: str = ""                  # "", "drop" (close without answering), "503", "hang" (no answer)
    session_ttl_calls: int = 0      # >0: a session expires after this many calls (error_code 1)
    invalid_services: tuple[str, ...] = ()   # services answered error_code 2
    duplicate_rate: float = 0.0     # share of page records served twice in the same page
    stale_rate: float = 0.0         # share of page records served as their previous version


class Upstream:
    """The simulated provincial system's data and behaviour (no HTTP here)."""

    def __init__(self, dossiers: int = 2000, *, seed: int = 1, agency: str = "000.17.22.H56",
                 username: str = "hub", password: str = "hub-secret", now: datetime | None = None,
                 shared_ts_block: int = 0) -> None:
        self.rng = random.Random(seed)
        self.extra_rng = random.Random(seed + 1)   # documents, channel: keeps self.rng's sequence as it was
        #: LayQuaTrinhXuLy: each dossier's steps, oldest first.
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self.agency = agency
        self.username = username
        self.password = password
        self.faults = Faults()
        #: A province's dialect: canonical name -> its name, for fields and for services.
        self.field_names: dict[str, str] = {}
        self.service_names: dict[str, str] = {}
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Any]] = {}
        self.previous: dict[str, dict[str, Any]] = {}
        self._keys: list[tuple[str, str]] = []        # sorted (NgayCapNhat, MaHoSo)
        self.sessions: dict[str, int] = {}
        self.pushed: dict[str, dict[str, dict[str, Any]]] = {}   # service -> key -> record
        self.push_calls: list[tuple[str, bool, int]] = []        # (service, isUpdating, n)
        self.calls: dict[str, int] = {}
        self.page_hooks: list[Callable[[int, dict[str, Any]], None]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []    # (service, data) of every call
        self.http_requests = 0                                   # counted on arrival, before any fault
        self._clock_offset = 0.0
        self._now0 = now
        self._t0 = time.time()
        self._generate(dossiers, shared_ts_block)
        #: The procedure catalogue served by LayDanhSachTTHC (an extension), by MaTTHC.
        self.procedures: dict[str, dict[str, Any]] = {p["MaTTHC"]: p for p in sample_procedures(self.now())}
        #: bookings (LayDanhSachLichHen, an extension): MaLichHen -> record; none of personal data
        self.appointments: dict[str, dict[str, Any]] = {}
        self._generate_appointments(random.Random(seed + 1), max(0, min(60, dossiers // 20)))

    # ------------------------------------------------------------------ time and data

    def now(self) -> datetime:
        base = self._now0 or datetime.now(TZ)
        elapsed = time.time() - self._t0 if self._now0 else 0.0
        return base + timedelta(seconds=elapsed + self._clock_offset)

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock (new changes get later NgayCapNhat)."""
        with self.lock:
            self._clock_offset += seconds

    def _generate(self, n: int, shared_block: int) -> None:
        rng, now = self.rng, self.now()
        seqs: dict[str, int] = {}
        bulk_ts = fmt(now - timedelta(days=40))
        for i in range(n):
            received = now - timedelta(days=rng.uniform(0, 60), seconds=rng.randint(0, 3600))
            day = received.strftime("%y%m%d")
            seqs[day] = seqs.get(day, 0) + 1
            code = f"{self.agency}-{day}-{seqs[day]:04d}"
            proc = rng.choice(PROCEDURES)
            due = received + timedelta(days=proc[4])
            status = rng.choices(range(1, 11), weights=[2, 6, 1, 30, 6, 2, 1, 1, 15, 36])[0]
            finished = returned = ""
            if status in (9, 10):
                finished = fmt(min(now, received + timedelta(days=rng.uniform(0.1, proc[4] * 1.2))))
            if status == 10:
                returned = finished
            updated = received + timedelta(seconds=rng.randint(0, int((now - received).total_seconds()) + 1))
            rec = {
                "MaHoSo": code, "MaTTHC": proc[0], "TenTTHC": proc[1], "MaLinhVuc": proc[2],
                "TenLinhVuc": proc[3],
                "ChuHoSo": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                "SoDienThoai": f"09{rng.randint(10000000, 99999999)}", "Email": "",
                "DiaChi": f"Số {rng.randint(1, 200)} đường Lê Lợi",
                "NgayTiepNhan": fmt(received), "NgayHenTra": fmt(due), "NgayKetThucXuLy": finished,
                "NgayTra": returned, "TrangThaiHoSo": str(status) if i % 7 == 0 else status,
                "DonViXuLy": rng.choice(UNITS), "NoiTraKetQua": "",
                "NgayCapNhat": bulk_ts if i < shared_block else fmt(min(updated, now)),
            }
            self._extra(rec, received)
            self.records[code] = rec
            self.steps[code] = [self._step(rec["NgayTiepNhan"], UNITS[0], "Tiếp nhận hồ sơ", 2)]
            if status != 2:
                self.steps[code].append(self._step(rec["NgayCapNhat"], rec["DonViXuLy"], None, status))
        self._keys = sorted((r["NgayCapNhat"], c) for c, r in self.records.items())

    def _extra(self, rec: dict[str, Any], at: datetime) -> None:
        """How it was filed, and for status 5 which documents are asked for and by when."""
        x = self.extra_rng
        rec["HinhThucNop"] = x.choices([1, 2, 3], weights=[6, 3, 1])[0]
        if int(rec["TrangThaiHoSo"]) == 5:
            rec["YeuCauBoSung"] = [{"Ten": d} for d in x.sample(DOCS, x.randint(1, 2))]
            rec["HanBoSung"] = fmt(at + timedelta(days=x.choice([5, 7, 10])))

    @staticmethod
    def _step(at: str, unit: str, text: str | None, status: int) -> dict[str, Any]:
        return {"ThoiGian": at, "DonVi": unit, "NoiDung": text or STATUS_TEXT[status], "TrangThai": status}

    def _reindex(self, code: str, old_ts: str | None, new_ts: str) -> None:
        if old_ts is not None:
            i = bisect.bisect_left(self._keys, (old_ts, code))
            if i < len(self._keys) and self._keys[i] == (old_ts, code):
                del self._keys[i]
        bisect.insort(self._keys, (new_ts, code))

    def change(self, code: str, **fields: Any) -> dict[str, Any]:
        """Change one dossier now (its NgayCapNhat becomes the simulator's now)."""
        with self.lock:
            rec = self.records[code]
            self.previous[code] = dict(rec)
            new = {**rec, **fields, "NgayCapNhat": fields.get("NgayCapNhat") or fmt(self.now())}
            if int(new["TrangThaiHoSo"]) == 5 and "YeuCauBoSung" not in fields:
                self._extra(new, self.now())
            elif int(new["TrangThaiHoSo"]) != 5:
                new.pop("YeuCauBoSung", None)
                new.pop("HanBoSung", None)
            if int(new["TrangThaiHoSo"]) != int(rec["TrangThaiHoSo"]):
                self.steps.setdefault(code, []).append(
                    self._step(new["NgayCapNhat"], str(new.get("DonViXuLy") or UNITS[0]), None,
                               int(new["TrangThaiHoSo"])))
            self.records[code] = new
            self._reindex(code, rec["NgayCapNhat"], new["NgayCapNhat"])
            return new

    def add(self, **fields: Any) -> dict[str, Any]:
        """Receive a new dossier now."""
        with self.lock:
            now = self.now()
            day = now.strftime("%y%m%d")
            seq = 1 + sum(1 for c in self.records if c.startswith(f"{self.agency}-{day}-"))
            proc = self.rng.choice(PROCEDURES)
            rec = {"MaHoSo": f"{self.agency}-{day}-{seq:04d}", "MaTTHC": proc[0], "TenTTHC": proc[1],
                   "MaLinhVuc": proc[2], "TenLinhVuc": proc[3], "ChuHoSo": "Trần Thị Bình",
                   "SoDienThoai": "0912345678", "NgayTiepNhan": fmt(now),
                   "NgayHenTra": fmt(now + timedelta(days=proc[4])), "NgayKetThucXuLy": "", "NgayTra": "",
                   "TrangThaiHoSo": 2, "DonViXuLy": UNITS[0], "NgayCapNhat": fmt(now), **fields}
            self.records[rec["MaHoSo"]] = rec
            self.steps[rec["MaHoSo"]] = [self._step(rec["NgayTiepNhan"], UNITS[0], "Tiếp nhận hồ sơ", 2)]
            self._reindex(rec["MaHoSo"], None, rec["NgayCapNhat"])
            return rec

    def change_random(self, n: int) -> list[str]:
        """Move n random dossiers one status forward, as processing does."""
        with self.lock:
            codes = self.rng.sample(sorted(self.records), min(n, len(self.records)))
            for c in codes:
                st = int(self.records[c]["TrangThaiHoSo"])
                self.change(c, TrangThaiHoSo=min(10, st + 1) if st < 10 else 4)
            return codes

    def _generate_appointments(self, rng: random.Random, n: int) -> None:
        """Today's bookings every 15 minutes from 07:30, most booked, a few cancelled."""
        start = self.now().replace(hour=7, minute=30, second=0, microsecond=0)
        for i in range(n):
            proc = rng.choice(PROCEDURES)
            self.add_appointment(slot=start + timedelta(minutes=15 * (i % 36)), procedure=proc,
                                 TrangThai=rng.choices([1, 2], weights=[9, 1])[0])

    def add_appointment(self, slot: datetime, procedure: tuple = PROCEDURES[0], **fields: Any) -> dict[str, Any]:
        """Book one slot now (tests choose the slot); returns the record."""
        with self.lock:
            day = slot.strftime("%Y%m%d")
            seq = 1 + sum(1 for c in self.appointments if c.startswith(f"LH-{day}-"))
            rec = {"MaLichHen": f"LH-{day}-{seq:04d}", "MaTTHC": procedure[0], "MaLinhVuc": procedure[2],
                   "NgayHen": fmt(slot), "ThoiLuong": 15, "TrangThai": 1, "NgayCapNhat": fmt(self.now()), **fields}
            self.appointments[rec["MaLichHen"]] = rec
            return rec

    def _appointments_changed(self, data: dict[str, Any]) -> dict[str, Any]:
        since = str(data.get("TuNgay") or "00000000000000")
        try:
            page, size = int(data.get("Trang", 1)), int(data.get("SoLuong", 500))
        except (TypeError, ValueError):
            return {"error_code": 2, "message": "Trang/SoLuong không hợp lệ"}
        if page < 1 or not 1 <= size <= 5000:
            return {"error_code": 2, "message": "Tham số không hợp lệ"}
        with self.lock:
            recs = sorted((r for r in self.appointments.values() if r["NgayCapNhat"] >= since),
                          key=lambda r: (r["NgayCapNhat"], r["MaLichHen"]))
            out = [dict(r) for r in recs[(page - 1) * size: page * size]]
        return {"error_code": 0, "result": {"TongSo": len(recs), "DanhSach": out}}

    def _push_appointment(self, data: dict[str, Any]) -> dict[str, Any]:
        code, status = str(data.get("MaLichHen", "")), data.get("TrangThai")
        if code not in self.appointments or status not in (3, 4):
            return {"error_code": 2, "message": "Lịch hẹn không hợp lệ"}
        ans = self._push("CapNhatLichHen", data, [(code, dict(data))])
        if ans.get("error_code") == 0:
            with self.lock:
                self.appointments[code] = {**self.appointments[code], "TrangThai": status,
                                           "NgayCapNhat": fmt(self.now())}
        return ans

    def versions(self) -> dict[str, str]:
        with self.lock:
            return {c: r["NgayCapNhat"] for c, r in self.records.items()}

    # ------------------------------------------------------------------ the contract

    def authenticate(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("username") != self.username or body.get("password") != self.password:
            return {"error_code": 4, "message": "Sai tên đăng nhập hoặc mật khẩu"}
        token = secrets.token_hex(16)
        with self.lock:
            self.sessions[token] = 0
        return {"error_code": 0, "session": token}

    def service(self, body: dict[str, Any]) -> dict[str, Any]:
        """One service call (in this province's dialect, if one is set)."""
        if self.field_names or self.service_names:
            return self._in_dialect(body)
        return self._service(body)

    def _in_dialect(self, body: dict[str, Any]) -> dict[str, Any]:
        fields_in = {v: k for k, v in self.field_names.items()}
        services_in = {v: k for k, v in self.service_names.items()}
        name = body.get("service")
        if name in self.service_names:  # a canonical name is unknown in this province
            return {"error_code": 2, "message": f"Không có dịch vụ {name}"}
        data = body.get("data")
        if isinstance(data, dict):
            data = {fields_in.get(k, k): v for k, v in data.items()}
        ans = self._service({**body, "service": services_in.get(name, name), "data": data})

        def out(v: Any) -> Any:
            if isinstance(v, dict):
                return {self.field_names.get(k, k): out(x) for k, x in v.items()}
            if isinstance(v, list):
                return [out(x) for x in v]
            return v
        return {**ans, "result": out(ans["result"])} if "result" in ans else ans

    def _service(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("service")
        with self.lock:
            self.calls[str(name)] = self.calls.get(str(name), 0) + 1
            token = body.get("session")
            if token not in self.sessions:
                return {"error_code": 1, "message": "Phiên làm việc hết hạn"}
            self.sessions[token] += 1
            if self.faults.session_ttl_calls and self.sessions[token] > self.faults.session_ttl_calls:
                del self.sessions[token]
                return {"error_code": 1, "message": "Phiên làm việc hết hạn"}
        if name in self.faults.invalid_services:
            return {"error_code": 2, "message": "Dữ liệu không hợp lệ"}
        data = body.get("data")
        if not isinstance(data, dict):
            return {"error_code": 2, "message": "Thiếu data"}
        with self.lock:
            self.requests.append((str(name), dict(data)))
        handler = {"TraCuuHoSo": self._lookup, "LayDanhSachHoSoCapNhat": self._changed,
                   "LayQuaTrinhXuLy": self._steps,
                   "DongBoDanhGia": self._push_ratings, "DongBoSoLieuXepHang": self._push_stats,
                   "LayDanhSachTTHC": self._procedures,
                   "LayDanhSachLichHen": self._appointments_changed,
                   "CapNhatLichHen": self._push_appointment}.get(str(name))
        if handler is None:
            return {"error_code": 2, "message": f"Không có dịch vụ {name}"}
        return handler(data)

    def _lookup(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            rec = self.records.get(str(data.get("MaHoSo", "")).upper())
            return {"error_code": 0, "result": [dict(rec)] if rec else []}

    def _steps(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            steps = self.steps.get(str(data.get("MaHoSo", "")).upper(), [])
            return {"error_code": 0, "result": [dict(x) for x in steps]}

    def _changed(self, data: dict[str, Any]) -> dict[str, Any]:
        since = str(data.get("TuNgay") or "00000000000000")
        try:
            page, size = int(data.get("Trang", 1)), int(data.get("SoLuong", 500))
        except (TypeError, ValueError):
            return {"error_code": 2, "message": "Trang/SoLuong không hợp lệ"}
        if page < 1 or not 1 <= size <= 5000 or len(since) != 14 or not since.isdigit():
            return {"error_code": 2, "message": "Tham số không hợp lệ"}
        with self.lock:
            start = bisect.bisect_left(self._keys, (since, ""))
            total = len(self._keys) - start
            keys = self._keys[start + (page - 1) * size: start + page * size]
            out = []
            for _, code in keys:
                rec = self.records[code]
                if self.faults.stale_rate and code in self.previous and self.rng.random() < self.faults.stale_rate:
                    rec = self.previous[code]
                out.append(dict(rec))
                if self.faults.duplicate_rate and self.rng.random() < self.faults.duplicate_rate:
                    out.append(dict(rec))
            hooks = list(self.page_hooks)
        for hook in hooks:  # after the page is cut: what changes now changes "between pages"
            hook(page, data)
        return {"error_code": 0, "result": {"TongSo": total, "DanhSach": out}}

    def set_procedure(self, **fields: Any) -> dict[str, Any]:
        """Add or change one procedure now (its NgayCapNhat becomes the simulator's now)."""
        with self.lock:
            code = fields["MaTTHC"]
            rec = {**self.procedures.get(code, {}), **fields}
            rec["NgayCapNhat"] = fields.get("NgayCapNhat") or fmt(self.now())
            self.procedures[code] = rec
            return rec

    def _procedures(self, data: dict[str, Any]) -> dict[str, Any]:
        since = str(data.get("TuNgay") or "")
        try:
            page, size = int(data.get("Trang", 1)), int(data.get("SoLuong", 200))
        except (TypeError, ValueError):
            return {"error_code": 2, "message": "Trang/SoLuong không hợp lệ"}
        if page < 1 or not 1 <= size <= 5000 or (since and (len(since) != 14 or not since.isdigit())):
            return {"error_code": 2, "message": "Tham số không hợp lệ"}
        with self.lock:
            rows = sorted((r for r in self.procedures.values() if r["NgayCapNhat"] >= since),
                          key=lambda r: (r["NgayCapNhat"], r["MaTTHC"]))
            return {"error_code": 0, "result": {"TongSo": len(rows),
                                                "DanhSach": [dict(r) for r in rows[(page - 1) * size: page * size]]}}

    def _push(self, service: str, data: dict[str, Any], items: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        updating = str(data.get("isUpdating", "")).lower() == "true"
        with self.lock:
            store = self.pushed.setdefault(service, {})
            if not updating and any(k in store for k, _ in items):
                return {"error_code": 3, "message": "Bản ghi đã tồn tại"}
            for k, rec in items:
                store[k] = rec
            self.push_calls.append((service, updating, len(items)))
        return {"error_code": 0, "result": {"SoLuong": len(items)}}

    def _push_ratings(self, data: dict[str, Any]) -> dict[str, Any]:
        items = data.get("DanhSach")
        if not isinstance(items, list) or not all(isinstance(x, dict) and x.get("MaDanhGia") for x in items):
            return {"error_code": 2, "message": "DanhSach đánh giá không hợp lệ"}
        return self._push("DongBoDanhGia", data, [(str(x["MaDanhGia"]), x) for x in items])

    def _push_stats(self, data: dict[str, Any]) -> dict[str, Any]:
        day = str(data.get("Ngay", ""))
        if len(day) != 8 or not day.isdigit() or not isinstance(data.get("DanhSach"), list):
            return {"error_code": 2, "message": "Số liệu xếp hàng không hợp lệ"}
        return self._push("DongBoSoLieuXepHang", data, [(day, data)])


def sample_procedures(now: datetime) -> list[dict[str, Any]]:
    """The simulated province's catalogue: the dossiers' procedures, with simulated details."""
    stamp = fmt(now - timedelta(days=30))
    out = []
    for code, name, field_code, field_name, days in PROCEDURES:
        out.append({
            "MaTTHC": code, "TenTTHC": name, "MaLinhVuc": field_code, "TenLinhVuc": field_name,
            "ThanhPhanHoSo": [{"Ten": f"Tờ khai {name[0].lower()}{name[1:]} theo mẫu", "SoLuong": 1, "LoaiBan": "Bản chính"},
                              {"Ten": "Giấy tờ tùy thân của người nộp để xuất trình", "SoLuong": 1, "LoaiBan": "Bản chính"}],
            "PhiLePhi": [{"Ten": "Lệ phí", "MucPhi": "Không" if days <= 1 else "Theo Nghị quyết của HĐND tỉnh"}],
            "ThoiHanGiaiQuyet": "Trong ngày" if days <= 1 else f"{days:02d} ngày làm việc",
            "NoiTiepNhan": UNITS[0], "NoiTraKetQua": UNITS[0], "MucDo": "Một phần", "DuongDan": "",
            "BieuMau": [], "NgayCapNhat": stamp,
        })
    return out


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("upstream-sim: " + format, *args)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        up = self.server.upstream
        f = up.faults
        with up.lock:
            up.http_requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if f.down == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if f.down == "hang":
            time.sleep(30)
            self.close_connection = True
            return
        if f.latency_s:
            time.sleep(f.latency_s)
        if f.down == "503":
            return self._send(503, {"error": "Service Unavailable"})
        try:
            body = json.loads(raw.decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError):
            return self._send(400, {"error_code": 2, "message": "JSON không hợp lệ"})
        if self.path == self.server.auth_path:
            return self._send(200, up.authenticate(body))
        if self.path != self.server.service_path:
            return self._send(404, {"error": "not found"})
        r = up.rng.random() if (f.error_rate or f.throttle_rate) else 1.0
        if r < f.throttle_rate:
            return self._send(429, {"error": "Too Many Requests"}, {"Retry-After": "1"})
        if r < f.throttle_rate + f.error_rate:
            return self._send(503, {"error": "Service Unavailable"})
        self._send(200, up.service(body))

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], upstream: Upstream, auth_path: str, service_path: str) -> None:
        self.upstream = upstream
        self.auth_path = auth_path
        self.service_path = service_path
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) is normal here: no traceback."""
        log.debug("upstream-sim: request from %s ended early", client_address)


class SimulatorServer:
    """The HTTP side: start, stop (connection refused) and start again on the same port."""

    def __init__(self, upstream: Upstream, host: str = "127.0.0.1", port: int = 0,
                 auth_path: str = "/auth", service_path: str = "/service",
                 tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.tls = tls
        self.host = host
        self.port = port
        self.auth_path = auth_path
        self.service_path = service_path
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "SimulatorServer":
        self._server = _Server((self.host, self.port), self.upstream, self.auth_path, self.service_path)
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"upstream-sim-{self.port}", daemon=True)
        self._thread.start()
        log.info("upstream simulator on %s (%d dossiers)", self.url, len(self.upstream.records))
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def cli_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="motcua upstream-sim",
                                 description="Run a simulated provincial system (UPSTREAM.md) over HTTP")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--dossiers", type=int, default=2000, help="dossiers to generate")
    ap.add_argument("--agency", default="000.17.22.H56", help="agency code in the dossier codes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--username", default="hub")
    ap.add_argument("--password", default="hub-secret")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    ap.add_argument("--error-rate", type=float, default=0.0, help="share of calls answered HTTP 503")
    ap.add_argument("--changes-per-min", type=float, default=0.0, help="dossiers changed per minute")
    args = ap.parse_args(argv)
    up = Upstream(args.dossiers, seed=args.seed, agency=args.agency, username=args.username,
                  password=args.password)
    up.faults.latency_s, up.faults.error_rate = args.latency, args.error_rate
    server = SimulatorServer(up, args.host, args.port).start()
    print(f"upstream simulator: {server.url} ({len(up.records)} dossiers, user {args.username})", flush=True)
    try:
        while True:
            if args.changes_per_min > 0:
                time.sleep(60.0 / args.changes_per_min)
                up.change_random(1)
            else:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
