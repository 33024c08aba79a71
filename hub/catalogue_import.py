"""Read a technician's export of the procedure database (JSON or XLSX) into procedure records.

Provinces export with their own column names; ``[catalogue] columns`` maps each of our
fields (``MaTTHC``...) to the export's column. JSON: a list of records, or an object with
``DanhSach`` (as LayDanhSachTTHC answers) or ``result.DanhSach``. XLSX: the first row names
the columns; a cell with a list (documents, fees, forms) holds JSON, or one item a line
with its parts split by ``item_separator``: "Tờ khai đăng ký khai sinh | 1 | Bản chính".

``motcua catalogue import FILE --config CONFIG`` runs this into the hub's catalogue.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from edge.config.model import CATALOGUE_FIELDS
from hub.catalogue import Catalogue, UpsertResult

log = logging.getLogger(__name__)

#: List fields and the names of their parts, in the order a line of a cell gives them.
LIST_PARTS: dict[str, tuple[str, ...]] = {
    "ThanhPhanHoSo": ("Ten", "SoLuong", "LoaiBan"),
    "PhiLePhi": ("Ten", "MucPhi"),
    "BieuMau": ("Ten", "DuongDan"),
}


class ImportError_(ValueError):
    """The file cannot be read at all (not the format, no header...): one clear sentence."""


def _rename(rec: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    theirs = {v: k for k, v in columns.items()}
    return {theirs.get(k, k): v for k, v in rec.items()}


def read_json(path: Path, columns: dict[str, str]) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportError_(f"{path}: not a JSON file ({exc})") from None
    if isinstance(data, dict):
        inner = data.get("result") if isinstance(data.get("result"), dict) else data
        data = inner.get("DanhSach")
    if not isinstance(data, list):
        raise ImportError_(f"{path}: expected a list of procedures (or an object with DanhSach)")
    return [_rename(r, columns) if isinstance(r, dict) else r for r in data]


def _cell(value: Any) -> Any:
    """A spreadsheet's own types as the JSON export writes them: dates as yyyyMMddHHmmss,
    whole numbers without ".0"."""
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d%H%M%S")
    if isinstance(value, date):
        return value.strftime("%Y%m%d") + "000000"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _cell_list(value: Any, key: str, sep: str) -> Any:
    if value is None or isinstance(value, list):
        return value
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # a name that starts with a bracket: read it as lines
    parts = LIST_PARTS[key]
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        bits = [b.strip() for b in line.split(sep)]
        item = {name: bits[i] for i, name in enumerate(parts) if i < len(bits) and bits[i]}
        if len(bits) > len(parts):  # the separator inside the last part: keep it there
            item[parts[-1]] = sep.join(bits[len(parts) - 1:])
        out.append(item)
    return out


def read_xlsx(path: Path, columns: dict[str, str], sheet: str | None, sep: str) -> list[dict[str, Any]]:
    try:
        import openpyxl
    except ImportError:
        raise ImportError_("reading XLSX needs openpyxl (pip install 'motcua[reports]')") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ImportError_(f"{path}: not an XLSX workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ImportError_(f"{path}: no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise ImportError_(f"{path}: the sheet is empty")
        names = [str(h).strip() if h is not None else "" for h in header]
        theirs = {v: k for k, v in columns.items()}
        keys = [theirs.get(n, n) for n in names]
        missing = [f"{k} (column {columns.get(k, k)!r})" for k in ("MaTTHC", "TenTTHC") if k not in keys]
        if missing:
            raise ImportError_(f"{path}: no column for {', '.join(missing)}; header: {', '.join(n for n in names if n)}")
        out = []
        for row in rows:
            if row is None or all(v in (None, "") for v in row):
                continue
            rec = {k: _cell(v) for k, v in zip(keys, row) if k in CATALOGUE_FIELDS}
            for key in LIST_PARTS:
                if key in rec:
                    rec[key] = _cell_list(rec[key], key, sep)
            out.append(rec)
        return out
    finally:
        wb.close()


def read_file(path: str | Path, cat_cfg: Any) -> list[dict[str, Any]]:
    """Records of a JSON or XLSX export, renamed to our field names."""
    p = Path(path)
    if not p.is_file():
        raise ImportError_(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return read_json(p, cat_cfg.columns)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(p, cat_cfg.columns, cat_cfg.sheet, cat_cfg.item_separator)
    raise ImportError_(f"{p}: unknown format {suffix!r} (JSON or XLSX)")


def import_file(catalogue: Catalogue, path: str | Path, cat_cfg: Any, now: Any = None,
                replace: bool = False) -> UpsertResult:
    """Read one export and store it; rows with errors are reported by number, the rest kept.

    With `replace` the export is the whole list for its file name: procedures imported from a
    file of that name before and missing now are removed (a refused row keeps its procedure)."""
    p = Path(path)
    records = read_file(p, cat_cfg)
    where = "row" if p.suffix.lower() in (".xlsx", ".xlsm") else "procedure"
    res = catalogue.upsert(records, p.name, portal_url=cat_cfg.portal_url, now=now, where=f"{p.name}: {where}")
    if replace:
        keep = {str(r.get("MaTTHC") or "").strip() for r in records if isinstance(r, dict)}
        res.removed = catalogue.remove_missing(p.name, keep)
    if where == "row":  # the header is row 1: number errors as the spreadsheet does
        res.errors = [_shift_row(e) for e in res.errors]
    return res


def _shift_row(err: str) -> str:
    head, _, rest = err.partition(": row ")
    num, _, tail = rest.partition(":")
    return f"{head}: row {int(num) + 1}:{tail}" if num.isdigit() else err


def import_changed(catalogue: Catalogue, cfg: Any, base: Path, now: Any = None) -> list[str]:
    """Import the config's `catalogue.files` whose size or time changed since the last import."""
    notes = []
    for name in cfg.catalogue.files:
        p = (base / name) if not os.path.isabs(name) else Path(name)
        try:
            st = p.stat()
        except OSError as exc:
            notes.append(f"{p}: {exc.strerror}")
            log.warning("catalogue file %s: %s", p, exc.strerror)
            continue
        key = f"file:{p.resolve()}"
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        if catalogue.get_state(key) == stamp:
            continue
        try:
            res = import_file(catalogue, p, cfg.catalogue, now, replace=True)  # a listed file is a full export
        except ImportError_ as exc:
            notes.append(str(exc))
            log.warning("%s", exc)
            continue
        for e in res.errors:
            log.warning("catalogue: %s", e)
        notes.extend(res.errors)
        catalogue.set_state(key, stamp)
        log.info("catalogue: %s imported (%d new, %d changed, %d unchanged, %d removed, %d refused)",
                 p.name, res.added, res.updated, res.unchanged, res.removed, len(res.errors))
    return notes


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua catalogue",
                                 description="The hub's procedure catalogue: import an export, search it")
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="import a JSON or XLSX export of the procedure database")
    imp.add_argument("file")
    imp.add_argument("--config", required=True, help="office TOML file (its [catalogue] maps the columns)")
    imp.add_argument("--data", default=None, help="state folder (default: MOTCUA_DATA or ./var/office)")
    imp.add_argument("--replace", action="store_true",
                     help="the file is the whole list: remove procedures imported from it before and missing now")
    se = sub.add_parser("search", help="search the catalogue as the kiosk does")
    se.add_argument("query", nargs="?", default="")
    se.add_argument("--config", required=True)
    se.add_argument("--data", default=None)
    return ap


def cli_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from edge.config import ConfigError, load
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    data = Path(args.data or os.environ.get("MOTCUA_DATA", "var/office"))
    cat = Catalogue(data / "hub" / "catalogue.sqlite")
    try:
        if args.cmd == "search":
            total, rows = cat.search(args.query, limit=20)
            for r in rows:
                print(f"{r.code}\t{r.name}\t{r.field}\t{r.time_limit}")
            print(f"{total} procedure(s)", file=sys.stderr)
            return 0
        try:
            res = import_file(cat, args.file, cfg.catalogue, replace=args.replace)
        except ImportError_ as exc:
            print(exc, file=sys.stderr)
            return 1
        for e in res.errors:
            print(e, file=sys.stderr)
        print(f"{args.file}: {res.added} new, {res.updated} changed, {res.unchanged} unchanged, "
              f"{res.removed} removed, {len(res.errors)} refused; the catalogue has {cat.count()} procedures")
        return 1 if res.errors and not res.stored and not res.unchanged else 0
    finally:
        cat.close()
