"""Test and bench harness: a real mosquitto (generated config, auth on) on a free loopback port.

Used by tests/conftest.py and bench/; not by production code.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from edge.broker import ROLE_SEP, BrokerProcess, acl_rules, free_port, load_credentials, role_of, write_broker_files
from edge.bus import BrokerURL, Bus
from edge.clock import Clock
from edge.config import OfficeConfig, load
from edge.daemon import DaemonContext
from edge.protocol import Topics

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small.toml"
#: Test clients per role (the broker ties a client id to its username, so two connections of
#: one user would kick each other: each test client gets an account `ROLE~tN` of its own).
CLIENTS_PER_ROLE = {"admin": 64}
CLIENTS_DEFAULT = 6


class TestOffice:
    """A broker plus helpers to build daemon contexts and clients for one office config."""

    __test__ = False  # not a pytest class

    def __init__(self, data_dir: Path, config: Path | str = SMALL) -> None:
        self.config_path = Path(config)
        self.cfg: OfficeConfig = load(self.config_path)
        self.data = Path(data_dir)
        self.topics = Topics(self.cfg.office.id)
        self.port = free_port()
        extra = [f"{role}{ROLE_SEP}t{i}" for role in acl_rules(self.cfg, simulate=False)
                 for i in range(1, CLIENTS_PER_ROLE.get(role, CLIENTS_DEFAULT) + 1)]
        self.files = write_broker_files(self.cfg, self.data, port=self.port, bind="127.0.0.1", extra_users=extra)
        self.creds = load_credentials(self.data)
        self._next_alias: dict[str, int] = {}
        self.broker = BrokerProcess(self.files.conf, "127.0.0.1", self.port)
        self._closers: list[Any] = []

    def start(self) -> "TestOffice":
        self.broker.start()
        return self

    def url(self, user: str = "admin") -> BrokerURL:
        return BrokerURL("127.0.0.1", self.port, user, self.creds[user])

    def ctx(self, device_id: str, kind: str, clock: Clock | None = None, device: Any = None) -> DaemonContext:
        if device is None:
            device = self.cfg.device(device_id)
        return DaemonContext(self.cfg, self.topics, clock or Clock(self.cfg.office.tz), self.data,
                             self.url(device_id), device_id, kind, device, config_path=self.config_path)

    def account(self, role: str = "admin") -> str:
        """A fresh test account `ROLE~tN` with `role`'s rights (each connection needs its own)."""
        n = self._next_alias.get(role, 0) + 1
        name = f"{role}{ROLE_SEP}t{n}"
        assert name in self.creds, f"harness: more than {n - 1} test clients of {role}; raise CLIENTS_PER_ROLE"
        self._next_alias[role] = n
        return name

    def client(self, user: str = "admin", kind: str = "engine", clock: Clock | None = None) -> Bus:
        """A started bus client with `user`'s rights under an account of its own (stopped at close)."""
        account = user if ROLE_SEP in user else self.account(role_of(user))
        bus = Bus(self.url(account), self.topics, role_of(user), kind, clock or Clock(self.cfg.office.tz))
        bus.start(wait=10)
        self._closers.append(bus.stop)
        return bus

    def start_engine(self, clock: Clock | None = None) -> Any:
        from edge.engine.daemon import create
        eng = create(self.ctx("engine", "engine", clock))
        eng.start()
        assert eng.bus.connected.wait(10), "engine did not connect"
        self._closers.append(eng.stop)
        return eng

    def restart_broker(self) -> None:
        self.broker.stop()
        self.broker.start()

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 - best-effort teardown
                pass
        self.broker.stop()


def hostile_payloads(reply_to: str) -> dict[str, bytes]:
    """Issue 11's bad inputs for any request topic: JSON nested deeper than the interpreter's
    stack under 64 KiB, lone surrogates, an oversized payload. Each must be reported on the
    error topic by whoever reads it, and kill nobody."""
    head = b'{"id": "h-1", "reply_to": "' + reply_to.encode() + b'", '
    return {"nested": head + b'"x": ' + b"[" * 20000 + b"]" * 20000 + b"}",
            "surrogate": head + b'"service": "\\ud800", "code": "\\udfff", "job_id": "a\\ud800"}',
            "huge": head + b'"service": "' + b"A" * 70000 + b'"}'}


def copy_config(tmp: Path, src: Path = SMALL, replace: dict[str, str] | None = None) -> Path:
    """A copy of a config with text replacements, for tests that need a variant."""
    text = src.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    dst = tmp / src.name
    dst.write_text(text, encoding="utf-8")
    return dst


__all__ = ["TestOffice", "SMALL", "DATA", "copy_config", "hostile_payloads", "shutil"]
