"""`motcua camera clip CONFIG --ticket ID`: the footage of one ticket's visit as one MP4 file.

Run on the host that records the camera (the segments are on its disk). Every camera of
the config with a recording index under DATA/<camera>/recordings is asked for the
ticket's bookmarks; each camera that saw the ticket gives one file, from `clip_before_s`
before the call to `clip_after_s` after the visit ended (done, transferred, no-show or
rating), joined across segments by ffmpeg's concat demuxer without re-encoding.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from edge.config import ConfigError, load
from edge.daemon import default_data_dir
from scanner.camera.footage import ClipError, FootageIndex, export_clip


def clip_ticket(cfg, data: Path, ticket_id: str, out_dir: Path, device: str | None = None) -> list[Path]:
    """Export the ticket's footage from every camera that bookmarked it; returns the files."""
    cams = [d for d in cfg.devices if d.kind == "camera" and (device is None or d.id == device)]
    if not cams:
        raise ClipError(f"Không có camera {device} trong cấu hình." if device else "Cấu hình không có camera nào.")
    written: list[Path] = []
    errors: list[str] = []
    for cam in cams:
        db = data / cam.id / "recordings" / "index.db"
        if not db.exists():
            continue
        index = FootageIndex(db)
        try:
            if index.visit(ticket_id) is None:
                continue
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in ticket_id)
            out = out_dir / f"{safe}_{cam.id}.mp4"
            try:
                start, end, missing = export_clip(db.parent, index, ticket_id, out, cam.clip_before_s,
                                                  cam.clip_after_s)
            except ClipError as exc:
                errors.append(f"{cam.id}: {exc}")
                continue
            written.append(out)
            print(f"{out}\t{cam.id}\t{_hms(start)}–{_hms(end)}")
            if missing >= 1:
                print(f"{cam.id}: camera không ghi được {missing:.0f} giây trong khoảng này "
                      "(mất tín hiệu); đoạn phim bỏ qua khoảng đó.", file=sys.stderr)
        finally:
            index.close()
    if not written:
        raise ClipError("; ".join(errors) or f"Không camera nào có đoạn ghi hình của vé {ticket_id}.")
    return written


def _hms(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


def cli_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="motcua camera clip",
                                 description="Export the recorded footage of one ticket's visit")
    ap.add_argument("config", help="office TOML file")
    ap.add_argument("--ticket", required=True, help="ticket id, e.g. 20261121-HT-0023")
    ap.add_argument("--device", default=None, help="only this camera (default: every camera that saw the ticket)")
    ap.add_argument("--data", default=None, help="state folder (default: MOTCUA_DATA or ./var/office)")
    ap.add_argument("--out", default=".", help="folder for the MP4 files (default: here)")
    args = ap.parse_args(argv)
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    data = Path(args.data) if args.data else default_data_dir()
    try:
        clip_ticket(cfg, data, args.ticket, Path(args.out), args.device)
    except ClipError as exc:
        print(f"motcua camera clip: {exc}", file=sys.stderr)
        return 1
    return 0
