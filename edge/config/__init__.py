"""Load and check an office's TOML configuration, with errors as `file:line: field: message`."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path as FsPath

from pydantic import ValidationError

from edge.config.devices import DEVICE_KIND_TAGS
from edge.config.locate import Path, format_path, line_map, locate
from edge.config.model import Counter, OfficeConfig, Service

__all__ = ["ConfigError", "ConfigIssue", "OfficeConfig", "Service", "Counter", "load", "loads"]


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def load(path: str | FsPath) -> OfficeConfig:
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "(file)", f"cannot read: {exc}")]) from None
    return loads(text, str(path))


def loads(text: str, filename: str = "<config>") -> OfficeConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        raise ConfigError([ConfigIssue(filename, line, "(syntax)", str(exc))]) from None
    lines = line_map(text)

    def issue(loc: Path, message: str) -> ConfigIssue:
        line, clean = locate(lines, loc, DEVICE_KIND_TAGS)
        return ConfigIssue(filename, line, format_path(clean), message)

    try:
        cfg = OfficeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([issue(tuple(e["loc"]), _msg(e)) for e in exc.errors()]) from None
    problems = [issue(loc, msg) for loc, msg in semantic_problems(cfg)]
    if problems:
        raise ConfigError(problems)
    return cfg


def _msg(err: dict) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling)"
    if err["type"] == "missing":
        return "required setting is missing"
    return msg.removeprefix("Value error, ")


def _toml_error_line(message: str) -> int | None:
    # tomllib: "... (at line 12, column 5)"
    import re
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


def semantic_problems(cfg: OfficeConfig) -> list[tuple[Path, str]]:
    """Cross-field rules pydantic cannot see one model at a time."""
    out: list[tuple[Path, str]] = []
    codes: dict[str, int] = {}
    for i, s in enumerate(cfg.services):
        if s.code in codes:
            out.append((("services", i, "code"), f"service code {s.code!r} is already used by services[{codes[s.code]}]"))
        codes.setdefault(s.code, i)
    numbers: dict[int, int] = {}
    for i, c in enumerate(cfg.counters):
        if c.number in numbers:
            out.append((("counters", i, "number"), f"counter {c.number} is already defined at counters[{numbers[c.number]}]"))
        numbers.setdefault(c.number, i)
        for j, code in enumerate(c.services):
            if code not in codes:
                out.append((("counters", i, "services", j), f"unknown service {code!r} (known: {', '.join(codes)})"))
    served = {code for c in cfg.counters for code in c.services}
    for i, s in enumerate(cfg.services):
        if s.code not in served:
            out.append((("services", i, "code"), f"no counter serves {s.code!r}: its tickets would never be called"))
    out.extend(_number_clashes(cfg.services))
    ids: dict[str, int] = {}
    for i, d in enumerate(cfg.devices):
        if d.id in ids:
            out.append((("devices", i, "id"), f"device id {d.id!r} is already used by devices[{ids[d.id]}]"))
        ids.setdefault(d.id, i)
        if d.counter is not None and d.counter not in numbers:
            out.append((("devices", i, "counter"), f"unknown counter {d.counter}"))
    for i, d in enumerate(cfg.devices):
        for ref in ("printer", "scanner"):
            target = getattr(d, ref, None)
            if target is not None and target not in ids:
                out.append((("devices", i, ref), f"unknown device {target!r}"))
        offered = getattr(d, "services", None)
        if offered:
            for j, code in enumerate(offered):
                if code not in codes:
                    out.append((("devices", i, "services", j), f"unknown service {code!r}"))
        if d.kind in ("led", "keypad", "tablet") and d.counter is None:
            out.append((("devices", i, "counter"), f"a {d.kind} belongs to a counter: set counter"))
    if cfg.office.public_url and not cfg.web.enabled:
        out.append((("office", "public_url"), "the ticket QR would open a page nothing serves: "
                    "enable the web daemon ([web] enabled = true) or remove public_url"))
    return out


def _number_clashes(services: list[Service]) -> list[tuple[Path, str]]:
    """Within one day no two tickets may share a printed number (PROTOCOL.md)."""
    out: list[tuple[Path, str]] = []
    for i, s in enumerate(services):
        for j in range(i):
            o = services[j]
            if s.number_format == o.number_format:
                if s.number_start <= o.number_end and o.number_start <= s.number_end:
                    out.append((("services", i, "number_start"),
                                f"numbers {s.number_start}-{s.number_end} overlap service {o.code!r} "
                                f"({o.number_start}-{o.number_end}) with the same format"))
                    break
            elif (s.number_end - s.number_start) + (o.number_end - o.number_start) <= 200_000:
                theirs = {o.format_number(n) for n in range(o.number_start, o.number_end + 1)}
                clash = next((t for n in range(s.number_start, s.number_end + 1)
                              if (t := s.format_number(n)) in theirs), None)
                if clash is not None:
                    out.append((("services", i, "number_start"),
                                f"number {clash!r} is also in the range of service {o.code!r}"))
                    break
    return out
