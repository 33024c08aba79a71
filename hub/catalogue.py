"""The office's procedure catalogue: SQLite with FTS5 search, with and without Vietnamese marks.

Records arrive in UPSTREAM.md's procedure shape (``MaTTHC``, ``TenTTHC``, ``ThanhPhanHoSo``...)
from the provincial system (``LayDanhSachTTHC``, see hub/catalogue_sync.py) or from a
technician's export (hub/catalogue_import.py). Each is stored as our ``Procedure`` payload
plus a folded search text: FTS5's own ``remove_diacritics`` keeps "đ" (a letter of its own in
Unicode), so the hub folds names itself (edge/vi.py) and folds queries the same way.
An older ``NgayCapNhat`` never overwrites a newer one.
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from edge import protocol as P
from edge.vi import fold

log = logging.getLogger(__name__)

CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,39}$")
KINDS = ("Bản chính", "Bản sao", "Bản sao chứng thực")
MAX_DOCUMENTS = 60

SCHEMA = """
CREATE TABLE IF NOT EXISTS procedures (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    field_code TEXT NOT NULL DEFAULT '',
    field TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,           -- NgayCapNhat, yyyyMMddHHmmss
    data TEXT NOT NULL,              -- the Procedure payload as JSON
    source TEXT NOT NULL DEFAULT ''  -- 'upstream' or the imported file's name
);
CREATE INDEX IF NOT EXISTS procedures_field ON procedures(field);
CREATE VIRTUAL TABLE IF NOT EXISTS procedures_fts USING fts5(
    code UNINDEXED, name, field, body, tokenize = 'unicode61', prefix = '2 3'
);
CREATE TABLE IF NOT EXISTS catalogue_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class RecordError(ValueError):
    """A procedure record that cannot be stored; the message names the field."""


@dataclass
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.added + self.updated


# ------------------------------------------------------------------ records -> payloads


def _text(rec: dict[str, Any], key: str) -> str:
    v = rec.get(key)
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        raise RecordError(f"{key}: expected text, got a {type(v).__name__}")
    return P.nfc(str(v).strip())


def _items(rec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = rec.get(key)
    if v in (None, ""):
        return []
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise RecordError(f"{key}: expected a list of objects")
    return v


def _copies(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(float(str(value).strip().replace(",", ".")))  # "01", 1, 1.0 from a spreadsheet
    except ValueError:
        raise RecordError(f"{where}: SoLuong {value!r} is not a number") from None
    if not 0 < n <= 99:
        raise RecordError(f"{where}: SoLuong {n} is not between 1 and 99")
    return n


def _kind(value: Any) -> str:
    """'Bản sao chứng thực' whatever the case or spacing; other wording kept as written."""
    text = P.nfc(" ".join(str(value or "").split()))
    for k in KINDS:
        if fold(text) == fold(k):
            return k
    return text


def _amount(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value):,}".replace(",", ".") + " đồng" if value else "Không"
    return P.nfc(str(value or "").strip()) or "Không"


def to_procedure(rec: dict[str, Any], portal_url: str | None = None) -> P.Procedure:
    """UPSTREAM.md's procedure record -> our payload; RecordError names what is wrong."""
    if not isinstance(rec, dict):
        raise RecordError(f"a procedure is a JSON object, not a {type(rec).__name__}")
    code = _text(rec, "MaTTHC")
    if not code:
        raise RecordError("MaTTHC: missing")
    if not CODE_RE.match(code):
        raise RecordError(f"MaTTHC: {code!r} is not a procedure code such as 1.001193")
    name = _text(rec, "TenTTHC")
    if not name:
        raise RecordError("TenTTHC: missing")
    docs = []
    for i, d in enumerate(_items(rec, "ThanhPhanHoSo")[:MAX_DOCUMENTS], 1):
        where = f"ThanhPhanHoSo[{i}]"
        dname = P.nfc(str(d.get("Ten") or "").strip())
        if not dname:
            raise RecordError(f"{where}: Ten missing")
        docs.append(P.ProcedureDocument(name=dname, copies=_copies(d.get("SoLuong"), where), kind=_kind(d.get("LoaiBan"))))
    fees = [P.ProcedureFee(name=P.nfc(str(f.get("Ten") or "Lệ phí").strip()), amount=_amount(f.get("MucPhi")))
            for f in _items(rec, "PhiLePhi")]
    forms = [P.ProcedureForm(name=P.nfc(str(f.get("Ten") or "").strip()), url=str(f.get("DuongDan") or "").strip())
             for f in _items(rec, "BieuMau") if str(f.get("Ten") or "").strip()]
    url = _text(rec, "DuongDan") or (portal_url.replace("{code}", code) if portal_url else "")
    updated = _text(rec, "NgayCapNhat")
    if updated and not (len(updated) == 14 and updated.isdigit()):
        raise RecordError(f"NgayCapNhat: {updated!r} is not yyyyMMddHHmmss")
    return P.Procedure(code=code, name=name, field=_text(rec, "TenLinhVuc"), field_code=_text(rec, "MaLinhVuc"),
                       time_limit=_text(rec, "ThoiHanGiaiQuyet"), online=_text(rec, "MucDo"), documents=docs,
                       fees=fees, submit_at=_text(rec, "NoiTiepNhan"), collect_at=_text(rec, "NoiTraKetQua"),
                       url=url, forms=forms, updated=updated)


def fts_query(text: str) -> str | None:
    """A safe FTS5 query for typed words: every word must match, the last one (of 2 letters or
    more: one letter would match nearly everything) as a prefix."""
    words = fold(text).split()
    if not words:
        return None
    last = f'"{words[-1]}"' + ("*" if len(words[-1]) > 1 else "")
    return " ".join([*(f'"{w}"' for w in words[:-1]), last])


# ------------------------------------------------------------------ the store


class Catalogue:
    """One SQLite file; one connection shared under a lock (searches take well under a millisecond)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---------------------------------------------------------------- writing
    def upsert(self, records: Iterable[dict[str, Any]], source: str, *, portal_url: str | None = None,
               now: datetime | None = None, where: str = "record") -> UpsertResult:
        """Store records in one transaction; bad ones are listed, the good ones kept."""
        stamp = (now or datetime.now()).strftime("%Y%m%d%H%M%S")
        res = UpsertResult()
        rows: list[P.Procedure] = []
        for i, rec in enumerate(records, 1):
            try:
                rows.append(to_procedure(rec, portal_url))
            except RecordError as exc:
                res.errors.append(f"{where} {i}: {exc}")
            except ValueError as exc:  # pydantic: a value of the wrong shape
                res.errors.append(f"{where} {i}: {P.describe_validation(exc) if hasattr(exc, 'errors') else exc}")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for proc in rows:
                    self._store(proc, proc.updated or stamp, source, res)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return res

    def _store(self, proc: P.Procedure, updated: str, source: str, res: UpsertResult) -> None:
        old = self._db.execute("SELECT updated, data FROM procedures WHERE code=?", (proc.code,)).fetchone()
        proc = proc.model_copy(update={"updated": updated})
        data = json.dumps(proc.wire(), ensure_ascii=False, sort_keys=True)
        if old is not None:
            if updated < old[0]:
                res.unchanged += 1  # an older version arriving late
                return
            if old[1] == data:
                res.unchanged += 1
                return
        self._db.execute(
            "INSERT INTO procedures(code, name, field_code, field, updated, data, source) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(code) DO UPDATE SET name=excluded.name, field_code=excluded.field_code, "
            "field=excluded.field, updated=excluded.updated, data=excluded.data, source=excluded.source",
            (proc.code, proc.name, proc.field_code, proc.field, updated, data, source))
        self._db.execute("DELETE FROM procedures_fts WHERE code=?", (proc.code,))
        body = " ".join([*(d.name for d in proc.documents), proc.submit_at])
        self._db.execute("INSERT INTO procedures_fts(code, name, field, body) VALUES (?,?,?,?)",
                         (proc.code, fold(f"{proc.name} {proc.code}"), fold(proc.field), fold(body)))
        if old is None:
            res.added += 1
        else:
            res.updated += 1

    def remove_missing(self, source: str, keep: set[str]) -> int:
        """Delete the procedures that came from `source` and are not in `keep` (a full export
        that no longer lists a procedure: it was abolished or moved). Returns how many."""
        with self._lock:
            codes = [r[0] for r in self._db.execute("SELECT code FROM procedures WHERE source=?", (source,))
                     if r[0] not in keep]
            if not codes:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for code in codes:
                    self._db.execute("DELETE FROM procedures WHERE code=?", (code,))
                    self._db.execute("DELETE FROM procedures_fts WHERE code=?", (code,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        log.info("catalogue: %d procedure(s) no longer in %s removed: %s", len(codes), source, ", ".join(codes[:10]))
        return len(codes)

    def get_state(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM catalogue_state WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO catalogue_state(key, value) VALUES (?,?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # ---------------------------------------------------------------- reading
    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM procedures").fetchone()[0]

    def get(self, code: str) -> P.Procedure | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM procedures WHERE code=?", (code.strip(),)).fetchone()
        return P.Procedure.model_validate_json(row[0]) if row else None

    def fields(self) -> list[P.ProcedureField]:
        with self._lock:
            rows = self._db.execute("SELECT field_code, field, count(*) FROM procedures "
                                    "GROUP BY field ORDER BY field").fetchall()
        return [P.ProcedureField(code=c, name=n, count=k) for c, n, k in rows]

    def search(self, query: str = "", field: str | None = None, limit: int = 20,
               offset: int = 0) -> tuple[int, list[P.ProcedureSummary]]:
        """(total matches, one page of them). Empty query: every procedure (of `field`) by name.

        Ranking: a code typed in full first, then FTS5's bm25 (name counts most), then names
        that contain the query with its marks exactly as typed, then by name.
        """
        q = P.nfc(query.strip())
        where, args = "", []
        if field:
            where, args = " AND p.field = ?", [field]
        with self._lock:
            if not q:
                total = self._db.execute(f"SELECT count(*) FROM procedures p WHERE 1=1{where}", args).fetchone()[0]
                rows = self._db.execute(f"SELECT p.data FROM procedures p WHERE 1=1{where} ORDER BY p.name, p.code "
                                        "LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
                return total, [self._summary(r[0]) for r in rows]
            fq = fts_query(q)
            if fq is None:
                return 0, []
            base = (f"FROM procedures_fts f JOIN procedures p ON p.code = f.code "
                    f"WHERE procedures_fts MATCH ?{where}")
            if field:
                total = self._db.execute(f"SELECT count(*) {base}", [fq, *args]).fetchone()[0]
            else:
                total = self._db.execute("SELECT count(*) FROM procedures_fts WHERE procedures_fts MATCH ?",
                                         [fq]).fetchone()[0]
            rows = self._db.execute(
                f"SELECT p.data {base} ORDER BY (p.code = ?) DESC, bm25(procedures_fts, 0, 10.0, 2.0, 1.0), "
                "instr(p.name, ?) = 0, p.name LIMIT ? OFFSET ?", [fq, *args, q, q, limit, offset]).fetchall()
        return total, [self._summary(r[0]) for r in rows]

    @staticmethod
    def _summary(data: str) -> P.ProcedureSummary:
        return P.ProcedureSummary.model_validate_json(data)


# ------------------------------------------------------------------ services


def service_for(cfg: Any, proc: P.ProcedureSummary) -> str | None:
    """The ticket service that handles a procedure: catalogue.services by code, field code or
    field name, else the service whose `field` is the procedure's field (marks and case ignored)."""
    mapping = cfg.catalogue.services
    for key in (proc.code, proc.field_code, proc.field):
        if key and key in mapping:
            return mapping[key]
    wanted = fold(proc.field)
    if wanted:
        for s in cfg.services:
            if s.field and fold(s.field) == wanted:
                return s.code
    return None
