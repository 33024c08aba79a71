"""Hundreds of citizens' phones on one web daemon: the ticket page's live updates and the
engine's issue latency with and without them.

The engine and the web daemon (`motcua web`) each run as their own process over a real
mosquitto. First BENCH_ISSUES tickets are issued with no phone open (`issue_ms_alone`).
Then BENCH_PHONES tickets are issued and each gets a phone: an SSE stream on
/ve/{token}/events (httpx, one connection per phone, as each phone has its own). With
every phone open, BENCH_ISSUES more tickets are issued in another service
(`issue_ms_phones`: only that service's phones are woken) and BENCH_ISSUES in the phones'
own service (`issue_ms_phones_same_service`: all 500 are woken), then BENCH_CALLS calls are
made at counter 2:

- called_ms: the call request sent -> the called ticket's phone gets "called"
- ahead_ms:  the call request sent -> the last of the other waiting phones gets its new
  people-ahead count (every phone in the service hears of every call)

`issue_ratio` / `issue_ratio_same_service` are p50 and p99 of issue latency with phones over
without. Prints one JSON
object on its last line.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from edge.broker import free_port  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402

PHONES = min(int(os.environ.get("BENCH_PHONES", "500")), 1500)
ISSUES = min(int(os.environ.get("BENCH_ISSUES", "100")), 500)
CALLS = min(int(os.environ.get("BENCH_CALLS", "40")), PHONES)
TARGET_P99_MS = 1000.0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "max": pct(values, 100), "n": len(values)}


class Phones:
    """PHONES SSE streams on one asyncio loop in a thread; records each phone's last state and when."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url, self.tokens = url, tokens
        self.last: dict[str, dict] = {}
        self.at: dict[str, float] = {}
        self.open = 0
        self.failed = 0
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="bench-phones", daemon=True)

    def start(self) -> "Phones":
        self.thread.start()
        return self

    def _run(self) -> None:
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        limits = httpx.Limits(max_connections=PHONES + 10, max_keepalive_connections=PHONES + 10)
        async with httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(60, read=None), limits=limits) as c:
            tasks = [asyncio.create_task(self._phone(c, tok)) for tok in self.tokens]
            await self._stop.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _phone(self, c: httpx.AsyncClient, token: str) -> None:
        try:
            async with c.stream("GET", f"/ve/{token}/events") as r:
                if r.status_code != 200:
                    self.failed += 1
                    return
                self.open += 1
                event = None
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "ticket":
                        self.last[token] = json.loads(line[6:])["data"]
                        self.at[token] = time.monotonic()
        except (httpx.HTTPError, asyncio.CancelledError):
            pass

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-phones-"))
    port = free_port()
    cfg = copy_config(tmp, replace={'tracking_url = "https://motcua.example.vn/ve/{ticket_id}"':
                                    f'public_url = "http://127.0.0.1:{port}"'})
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\n[web]\nenabled = true\nport = {port}\n", encoding="utf-8")
    office = TestOffice(tmp / "data", cfg).start()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    procs: dict[str, subprocess.Popen] = {}
    for name in ("engine", "web"):
        cmd = [sys.executable, "-m", "edge.cli", name, str(cfg), "--data", str(office.data),
               "--broker", f"mqtt://{name}:{office.creds[name]}@127.0.0.1:{office.port}"]
        procs[name] = subprocess.Popen(cmd, env=env, stdout=open(tmp / f"{name}.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    t = office.topics
    result: dict = {}
    phones: Phones | None = None
    try:
        admin = office.client("admin")
        statuses: dict[str, dict] = {}
        admin.subscribe(t.device_status_all, lambda tp, p: statuses.__setitem__(tp.split("/")[-2], json.loads(p)))
        assert wait_until(lambda: all(statuses.get(d, {}).get("state") == "ok" for d in ("engine", "web")), 120), statuses
        assert wait_until(lambda: _http_up(url), 30), "web daemon not listening"

        def issue(service: str) -> tuple[float, dict]:
            t0 = time.monotonic()
            r = admin.request(t.ticket_issue, {"service": service}, timeout=10)
            assert r["ok"], r
            return time.monotonic() - t0, r

        alone = [issue("DD")[0] for _ in range(ISSUES)]
        mine = [issue("HT")[1]["ticket"] for _ in range(PHONES)]
        tokens = [tk["track"] for tk in mine]
        assert wait_until(lambda: httpx.get(f"{url}/ve/{tokens[-1]}/state").status_code == 200, 30)
        phones = Phones(url, tokens).start()
        assert wait_until(lambda: len(phones.last) == PHONES or phones.failed, 120), (len(phones.last), phones.failed)
        with_phones = [issue("DD")[0] for _ in range(ISSUES)]  # another service: its phones only wake
        same_service = [issue("HT")[0] for _ in range(ISSUES)]  # the phones' own service: all 500 wake
        assert admin.request(t.counter_command(2), {"action": "open", "staff": "Bench"}, timeout=10)["ok"]
        called_lat, ahead_lat, missed = [], [], 0
        for i in range(CALLS):
            tok = tokens[i]
            t0 = time.monotonic()
            r = admin.request(t.counter_command(2), {"action": "next"}, timeout=10)
            assert r["ok"] and r["ticket"]["track"] == tok, r
            others = tokens[i + 1:]

            def settled() -> bool:
                return (phones.last.get(tok) or {}).get("state") == "called" and all(
                    (phones.last.get(o) or {}).get("ahead") == j for j, o in enumerate(others))
            if not wait_until(settled, 15, interval=0.005):
                missed += 1
                continue
            called_lat.append(phones.at[tok] - t0)
            if others:
                ahead_lat.append(max(phones.at[o] for o in others) - t0)
            time.sleep(0.2)
        ratio = {k: round(pct(with_phones, p) / pct(alone, p), 2) for k, p in (("p50", 50), ("p99", 99))}
        ratio_same = {k: round(pct(same_service, p) / pct(alone, p), 2) for k, p in (("p50", 50), ("p99", 99))}
        result = {
            "bench": "web_phones", "phones": PHONES, "phones_open": phones.open, "phones_refused": phones.failed,
            "calls": CALLS, "missed": missed, "cpus": os.cpu_count(),
            "called_ms": summary(called_lat), "ahead_ms": summary(ahead_lat),
            "issue_ms_alone": summary(alone), "issue_ms_phones": summary(with_phones), "issue_ratio": ratio,
            "issue_ms_phones_same_service": summary(same_service), "issue_ratio_same_service": ratio_same,
            "target_p99_ms": TARGET_P99_MS,
            "called_p99_ok": bool(called_lat) and pct(called_lat, 99) < TARGET_P99_MS,
            "setup": "engine and web each a motcua process; real mosquitto; every phone its own httpx SSE connection",
        }
    finally:
        if phones is not None:
            phones.stop()
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        office.close()
    print(json.dumps(result, ensure_ascii=False))


def _http_up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
