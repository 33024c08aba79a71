"""A whole office under `motcua run --simulate`, as a process, for the office and fault tests."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from edge.broker import load_credentials
from edge.bus import BrokerURL, Bus, wait_until
from edge.clock import Clock
from edge.config import load

ROOT = Path(__file__).resolve().parents[1]


class RunningOffice:
    """`motcua run CONFIG --simulate` in a child process, plus an admin client watching it."""

    def __init__(self, config: Path, data: Path, clock: str, extra: list[str] | None = None) -> None:
        self.config = Path(config)
        self.cfg = load(self.config)
        self.data = Path(data)
        self.only = set(extra[extra.index("--only") + 1].split(",")) if extra and "--only" in extra else None
        env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
                   MOTCUA_LOG="INFO")
        env.pop("DISPLAY", None)
        self.log = open(self.data.parent / "office.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", str(self.config), "--simulate", "--no-view",
             "--data", str(self.data), "--clock", clock] + (extra or []),
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        conf = self.data / "broker" / "mosquitto.conf"
        assert wait_until(lambda: conf.exists() and "listener" in conf.read_text(), 20), "no broker config"
        self.port = int(re.search(r"^listener (\d+)", conf.read_text(), re.M).group(1))
        creds = load_credentials(self.data)
        from edge.protocol import Topics
        self.topics = Topics(self.cfg.office.id)
        self.status: dict[str, dict] = {}
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.bus = Bus(BrokerURL("127.0.0.1", self.port, "admin", creds["admin"]), self.topics, "admin-test",
                       "engine", Clock(self.cfg.office.tz))
        self.bus.subscribe(self.topics.device_status_all, self._on_status)
        self.bus.subscribe(self.topics.ticket_event_all, self._on_event)
        self.bus.start(wait=20)

    def _on_status(self, topic: str, payload: bytes) -> None:
        data = json.loads(payload)
        with self.lock:
            self.status[topic.split("/")[-2]] = data

    def _on_event(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.events.append((topic.rsplit("/", 1)[-1], json.loads(payload)))

    def expected_devices(self) -> set[str]:
        from edge.supervisor import daemon_available
        if self.only:
            return {d.id for d in self.cfg.devices if d.kind in self.only or d.id in self.only} | (
                {"engine", "hub", "simulator"} & self.only)
        names = {"engine", "simulator"}
        if self.cfg.hub.enabled and daemon_available("hub"):
            names.add("hub")
        names |= {d.id for d in self.cfg.devices if d.enabled and daemon_available(d.kind)}
        return names

    def online(self) -> set[str]:
        with self.lock:
            return {k for k, v in self.status.items() if v.get("online")}

    def wait_online(self, names: set[str], timeout: float = 60) -> bool:
        return wait_until(lambda: names <= self.online(), timeout, 0.1)

    def children(self) -> dict[str, int]:
        """Device id (or daemon name) -> pid of the supervisor's children."""
        out: dict[str, int] = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != self.proc.pid:
                    continue
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue
            args = [a.decode() for a in argv if a]
            if "--device" in args:  # several ids, comma-separated, when devices share a process
                for device in args[args.index("--device") + 1].split(","):
                    out[device] = int(pid)
            elif "edge.cli" in args:
                out[args[args.index("edge.cli") + 1]] = int(pid)
            elif args and args[0].endswith("mosquitto"):
                out["mosquitto"] = int(pid)
        return out

    def kill9(self, name: str) -> int:
        pid = self.children()[name]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> int:
        try:
            self.bus.stop(offline=False)
        except Exception:  # noqa: BLE001
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def log_text(self) -> str:
        return (self.data.parent / "office.log").read_text(errors="replace")


def wait_for(predicate, timeout: float) -> bool:
    return wait_until(predicate, timeout, 0.1)


__all__ = ["RunningOffice", "wait_for", "time"]
