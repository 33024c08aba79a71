"""`motcua`: the one command technicians, systemd units and the simulated office use."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from edge.config import ConfigError, check, load

log = logging.getLogger("motcua")

#: Daemon name -> module exposing `create(ctx) -> Daemon`.
DAEMONS: dict[str, str] = {
    "engine": "edge.engine.daemon",
    "hub": "hub.daemon",
    "printer": "printer.daemon",
    "kiosk": "kiosk.daemon",
    "tablet": "kiosk.tablet",
    "keypad": "kiosk.keypad",
    "display": "display.daemon",
    "led": "display.led",
    "voice": "display.voice",
    "scanner": "scanner.daemon",
    "camera": "scanner.camera",
    "simulator": "edge.simulate",
    "reports": "edge.reports.daemon",
    "web": "web.daemon",
}

#: Daemons that are not devices in the config (they run once per office).
SERVICE_DAEMONS = ("engine", "hub", "simulator", "reports", "web")

#: Commands with their own argument parsing: argv prefix -> "module:function(argv) -> int".
TOOLS: dict[tuple[str, ...], str] = {
    ("voice", "build"): "display.voice.pack:cli_main",
    ("report",): "edge.reports.cli:cli_main",
    ("devices",): "edge.tools.devices:cli_main",
    ("test",): "edge.tools.devtest:cli_main",
    ("status",): "edge.tools.status:cli_main",
    ("install",): "edge.tools.install:cli_main",
    ("upstream-sim",): "hub.simulator:cli_main",
    ("bridge",): "edge.tools.bridge:cli_main",
    ("central",): "central.daemon:cli_main",
    ("central-web",): "central.daemon:web_main",
    ("staff",): "edge.staff:cli_main",
    ("camera", "clip"): "scanner.camera.clip:cli_main",
    ("catalogue",): "hub.catalogue_import:cli_main",
    ("i18n",): "edge.i18n.tool:cli_main",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="office TOML file")
    p.add_argument("--broker", default=None,
                   help="use this broker, mqtt://[user:pass@]host:port (default: MOTCUA_BROKER or the config's)")
    p.add_argument("--data", default=None, help="state folder (default: MOTCUA_DATA or ./var/office)")
    p.add_argument("--clock", default=None,
                   help="simulated office clock START[xSPEED], e.g. 07:30x20 or 2026-11-23T07:25x60")
    p.add_argument("--log", default=None, help="log level (default INFO, or MOTCUA_LOG)")
    p.add_argument("--simulate", action="store_true",
                   help="simulated office: every device on its virtual backend, the hub on the upstream simulator "
                        "(run: also simulated citizens, clerks and clock)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua", description="Edge daemons of a Vietnamese one-stop office")
    sub = ap.add_subparsers(dest="cmd", required=True)

    cfg = sub.add_parser("config", help="check or show an office config")
    csub = cfg.add_subparsers(dest="config_cmd", required=True)
    c = csub.add_parser("check", help="validate; print every error and warning as file:line: field: message")
    c.add_argument("file")
    c.add_argument("--simulate", action="store_true",
                   help="check the office as `run --simulate` runs it (virtual devices are then expected)")
    s = csub.add_parser("show", help="print the validated config")
    s.add_argument("file")
    s.add_argument("--json", action="store_true", help="as JSON")

    b = sub.add_parser("broker", help="write mosquitto config from the office config and run mosquitto")
    _common(b)
    b.add_argument("--write-only", action="store_true", help="write the files and exit")
    b.add_argument("--add-account", metavar="ROLE~NAME", action="append", default=[],
                   help="an extra account with ROLE's rights, e.g. admin~lan for a second technician")
    b.add_argument("--rotate", metavar="USER", action="append", default=[],
                   help="give USER (a device id or service account) a new password first (docs/operations.md)")

    r = sub.add_parser("run", help="run the broker and every daemon configured for this host")
    _common(r)
    r.add_argument("--host", default=None, help="run the devices of this host (default: 'local' and this hostname)")
    r.add_argument("--only", default=None, help="comma-separated daemon names or device ids to run")
    r.add_argument("--duration", type=float, default=None, help="stop after this many real seconds")
    r.add_argument("--no-view", action="store_true", help="no live terminal view")
    r.add_argument("--one-per-device", action="store_true",
                   help="one process per device even for headless kinds (LED boards, keypads, readers, printers, voices)")

    for name in DAEMONS:
        d = sub.add_parser(name, help=f"run the {name} daemon")
        _common(d)
        if name not in SERVICE_DAEMONS:
            d.add_argument("--device", required=True,
                           help="device id from the config (several, comma-separated, share one process)")
    g = sub.add_parser("group", help="run several devices of any headless kinds in one process (motcua run does)")
    _common(g)
    g.add_argument("--device", required=True, help="comma-separated device ids")
    for words in TOOLS:
        if len(words) == 1:
            sub.add_parser(words[0], help=f"{words[0]} (see `motcua {words[0]} --help`)", add_help=False)
    return ap


def _load_tool(spec: str) -> Callable[[list[str]], int]:
    mod, func = spec.split(":")
    return getattr(importlib.import_module(mod), func)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for words, spec in TOOLS.items():
        if tuple(argv[: len(words)]) == words:
            from edge.daemon import setup_logging
            setup_logging()
            return _load_tool(spec)(argv[len(words):])
    args = build_parser().parse_args(argv)
    from edge.daemon import setup_logging
    setup_logging(getattr(args, "log", None))
    if args.cmd == "config":
        return _config(args)
    try:
        cfg = load(args.config, simulate=args.simulate)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.cmd == "broker":
        return _broker(args, cfg)
    if args.cmd == "run":
        from edge.supervisor import run_office
        return run_office(args, cfg)
    return _daemon(args, cfg)


def _config(args: argparse.Namespace) -> int:
    simulate = getattr(args, "simulate", False)
    cfg, errors, warns = check(args.file, simulate=simulate)
    if errors:
        for issue in errors:
            print(issue, file=sys.stderr)
        print(f"{args.file}: {len(errors)} lỗi / error(s)", file=sys.stderr)
        return 1
    assert cfg is not None
    if args.config_cmd == "check":
        for issue in warns:
            print(issue, file=sys.stderr)
        if warns:
            print(f"{args.file}: {len(warns)} cảnh báo: tệp này chạy một văn phòng giả lập, không dùng được "
                  f"cho văn phòng thật / {len(warns)} warning(s): this file runs a simulated office",
                  file=sys.stderr)
        print(f"{args.file}: OK ({len(cfg.services)} services, {len(cfg.counters)} counters, "
              f"{len(cfg.devices)} devices{', simulated' if simulate else ''})")
        return 0
    data = cfg.model_dump(mode="json")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        import pprint
        pprint.pprint(data, width=100, sort_dicts=False)
    return 0


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data or os.environ.get("MOTCUA_DATA", "var/office"))


def _broker(args: argparse.Namespace, cfg) -> int:
    from edge.broker import mosquitto_binary, rotate_credential, write_broker_files
    for user in args.rotate:
        try:
            rotate_credential(_data_dir(args), user)
        except KeyError:
            print(f"motcua broker --rotate: no credential {user!r} in {_data_dir(args)}", file=sys.stderr)
            return 2
        print(f"new password for {user}; restart the broker and motcua-*@{user} "
              f"(other hosts: motcua install --credentials)", file=sys.stderr)
    try:
        files = write_broker_files(cfg, _data_dir(args), extra_users=args.add_account)
    except ValueError as exc:
        print(f"motcua broker: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {files.conf}, {files.passwd}, {files.acl}", file=sys.stderr)
    if args.write_only:
        return 0
    os.execv(mosquitto_binary(), [mosquitto_binary(), "-c", str(files.conf)])
    return 1  # not reached


def _daemon(args: argparse.Namespace, cfg) -> int:
    from edge import grouping
    from edge.daemon import DaemonGroup, make_context, run_daemon
    name = args.cmd
    plan: list[tuple[str, str, object]] = []  # (id, daemon kind, device config or None)
    if name in SERVICE_DAEMONS:
        plan.append((name, name, None))
    else:
        # `--device a,b,c` runs several daemons in one process (`motcua run` does so for headless
        # devices): one interpreter and one set of libraries instead of one each. `group` takes
        # devices of any headless kind and the service daemons hub, reports and simulator.
        ids = [x.strip() for x in args.device.split(",") if x.strip()]
        if not ids or len(set(ids)) != len(ids):
            print(f"{args.config}: --device needs one or more distinct device ids", file=sys.stderr)
            return 2
        for item in ids:
            if name == "group" and item in grouping.GROUPABLE_SERVICES:
                plan.append((item, item, None))
                continue
            device = cfg.device(item)
            if device is None:
                print(f"{args.config}: no device {item!r} (devices: {', '.join(d.id for d in cfg.devices)})",
                      file=sys.stderr)
                return 2
            if device.kind != name and not (name == "group" and device.kind in DAEMONS):
                print(f"{args.config}: device {item!r} is a {device.kind}, not a {name}", file=sys.stderr)
                return 2
            plan.append((device.id, device.kind, device))
    members = []
    for device_id, kind, device in plan:
        try:
            module = importlib.import_module(DAEMONS[kind])
        except ImportError as exc:
            print(f"motcua {kind}: not available in this build ({exc})", file=sys.stderr)
            return 3
        try:
            ctx = make_context(cfg, device_id, kind, broker=args.broker, data_dir=args.data,
                               clock=args.clock, device=device, config_path=args.config)
        except ValueError as exc:
            print(f"motcua {kind}: {exc}", file=sys.stderr)
            return 2
        from edge.daemon import StartupError
        try:
            members.append((device_id, module.create(ctx)))
        except StartupError as exc:
            print(f"motcua {kind}: {exc}", file=sys.stderr)
            return 4
    if len(members) == 1:
        device_id, daemon = members[0]
        return run_daemon(daemon, f"{name}:{device_id}", getattr(daemon, "healthy", None))
    group = DaemonGroup(members)
    return run_daemon(group, f"{name}:{','.join(i for i, _ in members)}", group.healthy)


if __name__ == "__main__":
    sys.exit(main())
