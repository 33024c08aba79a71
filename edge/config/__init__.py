"""Load and check an office's TOML configuration.

Every problem is reported in one pass as `file:line: field: Vietnamese / English`: field
errors from pydantic, then the cross-field rules checked on whatever parts were valid.
`check` also returns warnings (virtual devices, a simulated upstream) that are fine under
`--simulate` and wrong in a real office; `simulated` is what `--simulate` changes.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from edge import i18n
from edge.config import devices as _devices
from edge.config import model as _model
from edge.config.devices import DEVICE_KIND_TAGS, Device
from edge.config.locate import Path, format_path, line_map, locate
from edge.config.messages import explain
from edge.config.model import Counter, Hub, OfficeConfig, PriorityCategory, Service

__all__ = ["ConfigError", "ConfigIssue", "OfficeConfig", "Service", "Counter", "load", "loads", "check",
           "simulated"]


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    field: str
    message: str  # Vietnamese
    message_en: str = ""
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        tag = "CẢNH BÁO / WARNING: " if self.warning else ""
        en = f" / {self.message_en}" if self.message_en else ""
        return f"{where}: {self.field}: {tag}{self.message}{en}"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _all_keys() -> frozenset[str]:
    keys: set[str] = set()
    for mod in (_model, _devices):
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel):
                keys.update(obj.model_fields)
    return frozenset(keys)


KNOWN_KEYS = _all_keys()

#: What `--simulate` sets per device kind: (backend, keys dropped because they mean a real part).
SIMULATED_BACKENDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # kind: (virtual backend, backends kept as they are, keys removed)
    "printer": ("virtual", ("virtual",), ()),
    "led": ("virtual", ("virtual",), ()),
    "scanner": ("virtual", ("virtual",), ("path",)),
    "keypad": ("virtual", ("virtual", "screen"), ()),
    "camera": ("virtual", ("virtual",), ()),
    "voice": ("wav", ("wav",), ()),
}


def simulated(data: dict[str, Any]) -> dict[str, Any]:
    """The raw config as `--simulate` runs it: every device on its virtual backend and on this
    machine (host "local"), the broker on loopback and the hub on the built-in upstream
    simulator (unless `[simulation] upstream = "as_configured"`, for a test gateway);
    everything else (services, counters, hours) unchanged."""
    out = dict(data)
    devices = []
    for d in data.get("devices") or []:
        if isinstance(d, dict):
            d = d | {"host": "local"}
            if d.get("kind") in SIMULATED_BACKENDS:
                backend, keep, drop = SIMULATED_BACKENDS[d["kind"]]
                if d.get("backend", backend) not in keep:
                    d = {k: v for k, v in d.items() if k not in drop} | {"backend": backend}
        devices.append(d)
    broker = data.get("broker")
    if isinstance(broker, dict):
        out["broker"] = broker | {"embedded": True, "host": "127.0.0.1", "bind": "127.0.0.1", "tls": False}
    if "devices" in data:
        out["devices"] = devices
    hub, sim = data.get("hub"), data.get("simulation")
    if not (isinstance(sim, dict) and sim.get("upstream") == "as_configured"):
        out["hub"] = (dict(hub) if isinstance(hub, dict) else {}) | {"adapter": "simulator"}
    return out


def load(path: str | FsPath, simulate: bool = False) -> OfficeConfig:
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "(file)", f"không đọc được tệp: {exc}",
                                       f"cannot read: {exc}")]) from None
    cfg = loads(text, str(path), simulate)
    i18n.use_office_dir(path.resolve().parent)  # the office's own texts (motcua.<locale>.po) live beside its TOML
    return cfg


def loads(text: str, filename: str = "<config>", simulate: bool = False) -> OfficeConfig:
    cfg, errors, _ = check_text(text, filename, simulate)
    if errors:
        raise ConfigError(errors)
    assert cfg is not None
    return cfg


def check(path: str | FsPath, simulate: bool = False) -> tuple[OfficeConfig | None, list[ConfigIssue], list[ConfigIssue]]:
    """(config or None, every error, every warning) of an office file, for `config check` and `install`."""
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigIssue(str(path), None, "(file)", f"không đọc được tệp: {exc}",
                                  f"cannot read: {exc}")], []
    cfg, errors, warns = check_text(text, str(path), simulate)
    from edge.i18n.tool import office_problems  # the office's own texts beside its TOML

    warns += [ConfigIssue(str(po), None, "(texts)", problem, "", True)
              for po, problem in office_problems(path.resolve().parent)]
    return cfg, errors, warns


def check_text(text: str, filename: str = "<config>",
               simulate: bool = False) -> tuple[OfficeConfig | None, list[ConfigIssue], list[ConfigIssue]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        return None, [ConfigIssue(filename, line, "(syntax)",
                                  "lỗi cú pháp TOML: kiểm tra dấu ngoặc kép, dấu = và ngoặc vuông trên dòng này",
                                  f"TOML syntax error: {exc}")], []
    if simulate:
        data = simulated(data)
    lines = line_map(text)

    def issue(loc: Path, vi: str, en: str, warning: bool = False) -> ConfigIssue:
        line, clean = locate(lines, loc, DEVICE_KIND_TAGS)
        return ConfigIssue(filename, line, format_path(clean), vi, en, warning)

    cfg: OfficeConfig | None = None
    errors: list[ConfigIssue] = []
    try:
        cfg = OfficeConfig.model_validate(data)
        parts = Parts.of(cfg)
    except ValidationError as exc:
        errors = [issue(tuple(e["loc"]), *explain(e, KNOWN_KEYS)) for e in exc.errors()]
        parts = Parts.partial(data)
    errors += [issue(loc, vi, en) for loc, vi, en in semantic_problems(parts)]
    office, web = (data.get(k) if isinstance(data.get(k), dict) else {} for k in ("office", "web"))
    if office.get("public_url") and not web.get("enabled"):
        errors.append(issue(("office", "public_url"),
                            "mã QR trên phiếu sẽ mở một trang không ai phục vụ: bật [web] enabled = true hoặc bỏ public_url",
                            "the ticket QR would open a page nothing serves: enable the web daemon "
                            "([web] enabled = true) or remove public_url"))
    if errors:
        return None, sorted(errors, key=lambda i: i.line or 0), []  # in file order, as one fixes them
    assert cfg is not None
    if simulate:  # virtual devices and the upstream simulator are what --simulate asks for
        return cfg, [], []
    return cfg, [], [issue(loc, vi, en, True) for loc, vi, en in warnings(cfg)]


def _toml_error_line(message: str) -> int | None:
    # tomllib: "... (at line 12, column 5)"
    import re
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


@dataclass
class Parts:
    """The sections the cross-field rules read, each item with its index in the file. From a
    valid config, everything; from an invalid one, the items that validate on their own, plus
    the raw codes, numbers and ids of all items so a bad item causes no second, false error."""

    services: list[tuple[int, Service]] = field(default_factory=list)
    counters: list[tuple[int, Counter]] = field(default_factory=list)
    devices: list[tuple[int, Any]] = field(default_factory=list)
    categories: list[tuple[int, PriorityCategory]] = field(default_factory=list)
    hub: Hub | None = None
    codes: set[str] = field(default_factory=set)
    numbers: set[Any] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    served: set[str] = field(default_factory=set)  # service codes some counter lists

    @classmethod
    def of(cls, cfg: OfficeConfig) -> "Parts":
        return cls(list(enumerate(cfg.services)), list(enumerate(cfg.counters)), list(enumerate(cfg.devices)),
                   list(enumerate(cfg.priority_categories)), cfg.hub,
                   {s.code for s in cfg.services}, {c.number for c in cfg.counters}, {d.id for d in cfg.devices},
                   {code for c in cfg.counters for code in c.services})

    @classmethod
    def partial(cls, data: dict[str, Any]) -> "Parts":
        def items(key: str, adapter: TypeAdapter) -> list[tuple[int, Any]]:
            raw = data.get(key)
            out = []
            for i, item in enumerate(raw if isinstance(raw, list) else []):
                try:
                    out.append((i, adapter.validate_python(item)))
                except ValidationError:
                    pass
            return out

        def raw(key: str, attr: str) -> set[Any]:
            items_ = data.get(key) if isinstance(data.get(key), list) else []
            return {d.get(attr) for d in items_ if isinstance(d, dict) and isinstance(d.get(attr), (str, int))}

        try:
            hub = Hub.model_validate(data.get("hub", {}))
        except ValidationError:
            hub = None
        cats = items("priority_categories", TypeAdapter(PriorityCategory)) if "priority_categories" in data else \
            list(enumerate(_model.DEFAULT_PRIORITY_CATEGORIES))
        counters = data.get("counters") if isinstance(data.get("counters"), list) else []
        served = {code for c in counters if isinstance(c, dict) and isinstance(c.get("services"), list)
                  for code in c["services"] if isinstance(code, str)}
        return cls(items("services", TypeAdapter(Service)), items("counters", TypeAdapter(Counter)),
                   items("devices", TypeAdapter(Device)), cats, hub,
                   raw("services", "code"), raw("counters", "number"), raw("devices", "id"), served)


Problem = tuple[Path, str, str]  # where, Vietnamese, English


def semantic_problems(parts: Parts) -> list[Problem]:
    """Cross-field rules pydantic cannot see one model at a time."""
    out: list[Problem] = []
    codes: dict[str, int] = {}
    for i, s in parts.services:
        if s.code in codes:
            out.append((("services", i, "code"), f"mã dịch vụ \"{s.code}\" đã dùng ở services[{codes[s.code]}]; "
                        "đặt mã khác", f"service code {s.code!r} is already used by services[{codes[s.code]}]"))
        codes.setdefault(s.code, i)
    known = parts.codes | set(codes)
    numbers: dict[int, int] = {}
    for i, c in parts.counters:
        if c.number in numbers:
            out.append((("counters", i, "number"), f"quầy số {c.number} đã khai báo ở counters[{numbers[c.number]}]; "
                        "đặt số khác", f"counter {c.number} is already defined at counters[{numbers[c.number]}]"))
        numbers.setdefault(c.number, i)
        for j, code in enumerate(c.services):
            if code not in known:
                out.append((("counters", i, "services", j),
                            f"không có dịch vụ \"{code}\"; viết một trong: {', '.join(sorted(known))}",
                            f"unknown service {code!r} (known: {', '.join(sorted(known))})"))
    for i, s in parts.services:
        if s.code not in parts.served:
            out.append((("services", i, "code"), f"không quầy nào phục vụ \"{s.code}\": số của dịch vụ này "
                        "sẽ không bao giờ được gọi; thêm mã vào services của một quầy",
                        f"no counter serves {s.code!r}: its tickets would never be called"))
    out.extend(_number_clashes(parts.services))
    seen_prio: dict[str, int] = {}
    for i, cat in parts.categories:
        if cat.priority in seen_prio:
            out.append((("priority_categories", i, "priority"),
                        f"\"{cat.priority}\" đã dùng ở priority_categories[{seen_prio[cat.priority]}]; "
                        "mỗi giá trị chỉ dùng một lần",
                        f"priority {cat.priority!r} is already used by priority_categories[{seen_prio[cat.priority]}]"))
        seen_prio.setdefault(cat.priority, i)
    all_numbers = parts.numbers | set(numbers)
    ids: dict[str, int] = {}
    for i, d in parts.devices:
        if d.id in ids:
            out.append((("devices", i, "id"), f"mã thiết bị \"{d.id}\" đã dùng ở devices[{ids[d.id]}]; đặt mã khác",
                        f"device id {d.id!r} is already used by devices[{ids[d.id]}]"))
        ids.setdefault(d.id, i)
        if d.counter is not None and d.counter not in all_numbers:
            out.append((("devices", i, "counter"), f"không có quầy số {d.counter}; viết số của một quầy trong [[counters]]",
                        f"unknown counter {d.counter}"))
    all_ids = parts.ids | set(ids)
    for i, d in parts.devices:
        for ref in ("printer", "scanner"):
            target = getattr(d, ref, None)
            if target is not None and target not in all_ids:
                out.append((("devices", i, ref), f"không có thiết bị \"{target}\"; viết id của một {ref} trong [[devices]]",
                            f"unknown device {target!r}"))
        if d.kind == "display" and getattr(d, "cameras", None):
            kinds = {x.id: x.kind for _, x in parts.devices}
            for j, cam in enumerate(d.cameras):
                if cam not in all_ids or kinds.get(cam, "camera") != "camera":
                    out.append((("devices", i, "cameras", j), f"không có camera \"{cam}\"; viết id của một camera trong [[devices]]",
                                f"unknown camera {cam!r}"))
        for ref in ("return_service", "supplement_service"):  # receipts at the ticket kiosk (issue 16)
            code = getattr(d, ref, None)
            if code is not None and code not in known:
                out.append((("devices", i, ref), f"không có dịch vụ \"{code}\"; viết mã một dịch vụ trong [[services]]",
                            f"unknown service {code!r}"))
        for fld, code in (getattr(d, "supplement_services", None) or {}).items():
            if code not in known:
                out.append((("devices", i, "supplement_services"), f"{fld}: không có dịch vụ \"{code}\"",
                            f"unknown service {code!r}"))
        offered = getattr(d, "services", None)
        if offered:
            for j, code in enumerate(offered):
                if code not in known:
                    out.append((("devices", i, "services", j), f"không có dịch vụ \"{code}\"",
                                f"unknown service {code!r}"))
        if d.kind in ("led", "keypad", "tablet") and d.counter is None and getattr(d, "board", "") != "hall":
            out.append((("devices", i, "counter"), f"thiết bị {d.kind} thuộc một quầy: thêm counter = <số quầy>",
                        f"a {d.kind} belongs to a counter: set counter"))
    hub = parts.hub
    if hub is not None and hub.enabled and hub.adapter == "rest":
        missing = [k for k in ("base_url", "username", "password_file") if not getattr(hub, k)]
        if missing:
            out.append((("hub", "adapter"), f"kết nối hệ thống tỉnh (adapter = \"rest\") cần {', '.join(missing)} "
                        "trong [hub]; nếu chưa có, viết enabled = false trong [hub]",
                        f"adapter 'rest' needs {', '.join(missing)} in [hub] (or enabled = false)"))
        elif not hub.base_url.startswith(("http://", "https://")):
            out.append((("hub", "base_url"), f"\"{hub.base_url}\" phải bắt đầu bằng https:// (hoặc http://)",
                        f"base_url {hub.base_url!r} must start with https:// (or http://)"))
    return out


def _number_clashes(services: list[tuple[int, Service]]) -> list[Problem]:
    """Within one day no two tickets may share a printed number (PROTOCOL.md)."""
    out: list[Problem] = []
    for k, (i, s) in enumerate(services):
        for _, o in services[:k]:
            if s.number_format == o.number_format:
                if s.number_start <= o.number_end and o.number_start <= s.number_end:
                    out.append((("services", i, "number_start"),
                                f"dãy số {s.number_start}-{s.number_end} trùng với dịch vụ \"{o.code}\" "
                                f"({o.number_start}-{o.number_end}); chọn dãy số khác",
                                f"numbers {s.number_start}-{s.number_end} overlap service {o.code!r} "
                                f"({o.number_start}-{o.number_end}) with the same format"))
                    break
            elif (s.number_end - s.number_start) + (o.number_end - o.number_start) <= 200_000:
                theirs = {o.format_number(n) for n in range(o.number_start, o.number_end + 1)}
                clash = next((t for n in range(s.number_start, s.number_end + 1)
                              if (t := s.format_number(n)) in theirs), None)
                if clash is not None:
                    out.append((("services", i, "number_start"),
                                f"số \"{clash}\" cũng thuộc dãy số của dịch vụ \"{o.code}\"; chọn dãy số khác",
                                f"number {clash!r} is also in the range of service {o.code!r}"))
                    break
    return out


#: Backends that are no real part: fine under --simulate, wrong in an office.
VIRTUAL_BACKENDS = {"printer": "virtual", "led": "virtual", "scanner": "virtual", "keypad": "virtual",
                    "camera": "virtual", "voice": "wav"}


def warnings(cfg: OfficeConfig) -> list[Problem]:
    """What a real office must not ship: simulated devices and a simulated upstream."""
    out: list[Problem] = []
    for i, d in enumerate(cfg.devices):
        if d.enabled and d.kind in VIRTUAL_BACKENDS and VIRTUAL_BACKENDS[d.kind] == getattr(d, "backend", None):
            what = "chỉ ghi ra tệp, không phát ra loa" if d.kind == "voice" else "là thiết bị giả lập, không điều khiển phần cứng thật"
            out.append((("devices", i, "backend"), f"{d.id}: backend \"{d.backend}\" {what}; "
                        "ghi backend thật (docs/operations.md) hoặc chạy với --simulate",
                        f"{d.id}: backend {d.backend!r} is simulated, no real {d.kind}; set a real backend "
                        "or run with --simulate"))
    if cfg.hub.enabled and cfg.hub.adapter == "simulator":
        out.append((("hub", "adapter"), "hub dùng hệ thống tỉnh giả lập: màn hình tra cứu sẽ hiện hồ sơ bịa ra; "
                    "viết adapter = \"rest\" với base_url, username, password_file",
                    "the hub talks to the built-in upstream simulator: lookups would show invented dossiers; "
                    "set adapter = 'rest' with base_url, username, password_file"))
    return out
