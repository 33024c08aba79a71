"""`motcua central CONFIG`: the province's ingest, run like every other daemon (systemd notify)."""
from __future__ import annotations

import argparse
import logging
import sys

from edge.config import ConfigError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua central",
                                 description="Keep every office's events, bridged to the province broker, in PostgreSQL")
    ap.add_argument("config", help="the province's central TOML file")
    ap.add_argument("--check", action="store_true", help="validate the config and exit")
    return ap


def _dsn(cfg) -> str | None:
    dsn = cfg.database.dsn
    if cfg.database.password_file:
        try:
            with open(cfg.database.password_file, encoding="utf-8") as fh:
                dsn = f"{dsn} password={fh.read().strip()}"
        except OSError as exc:
            print(f"motcua central: cannot read the database password file: {exc}", file=sys.stderr)
            return None
    return dsn


def _load(path: str):
    """The validated central config, or None after printing every error as file:line: field: message."""
    from central.config import load
    try:
        return load(path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return None


def web_main(argv: list[str]) -> int:
    """`motcua central-web CONFIG`: the province's page."""
    ap = argparse.ArgumentParser(prog="motcua central-web", description="The province's page: every office at once")
    ap.add_argument("config", help="the province's central TOML file")
    args = ap.parse_args(argv)
    cfg = _load(args.config)
    if cfg is None:
        return 2
    dsn = _dsn(cfg)
    if dsn is None:
        return 2
    from central.web import ProvinceWeb
    from edge.daemon import run_daemon
    web = ProvinceWeb(cfg, dsn)
    return run_daemon(web, "central-web", web.healthy)


def cli_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = _load(args.config)
    if cfg is None:
        return 2
    if args.check:
        print(f"{args.config}: OK ({cfg.province}, {len(cfg.offices)} offices expected)")
        return 0
    from central.ingest import Ingest
    from central.store import CentralStore
    from edge.daemon import run_daemon
    dsn = _dsn(cfg)
    if dsn is None:
        return 2
    ingest = Ingest(cfg, CentralStore(dsn))
    return run_daemon(ingest, "central", ingest.healthy)
