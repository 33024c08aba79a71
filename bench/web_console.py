"""The clerks' web console: action latency to the LED board and the TV's state, page weight,
time to the first possible action, and 40 consoles receiving live state at once.

(Named web_console.py, not web.py: some tests put bench/ on sys.path, where a web.py would
hide the `web` package.)

Every daemon runs in its own process, as in an office: the engine, the led daemon (serial
backend on a pty whose far end this script reads, answering like a Modbus board) and the
web daemon (`motcua web`), over a real mosquitto. A clerk signed in over HTTP presses Next:

- action_ms:  POST /api/counter/1 {"action": "next"} -> its HTTP answer ("Đã gọi số ...")
- led_ms:     the POST sent -> the Modbus frame with the new number read at the LED pty
- tv_ms:      -> the retained counter state with the new number (what the TV board draws)
- tv_queue_ms:-> the retained queue state whose newest recent call is the new number

Then a real chromium (Playwright, Debian's binary) loads the console: `page_bytes` is the
sum of every response body of the page (HTML, CSS, JS, the SSE snapshot excluded),
`first_action_ms` the time from navigation to the live state drawn (buttons usable).
Last, 40 SSE streams (a province centre's clerks) are open while BENCH_LIVE presses happen:
`live_ms` is press -> the new number on each stream, `live_missed` the updates a stream
never got. BENCH_N presses (default 150). Prints one JSON object on its last line.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
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

from display.led.protocols import ModbusRTU  # noqa: E402
from display.led.virtual import PtyPair, SimulatedBoards  # noqa: E402
from edge.broker import free_port  # noqa: E402
from edge.bus import wait_until  # noqa: E402
from harness import TestOffice, copy_config  # noqa: E402
from web_office import CHROMIUM, add_staff  # noqa: E402

N = min(int(os.environ.get("BENCH_N", "150")), 900)
LIVE = min(int(os.environ.get("BENCH_LIVE", "40")), 90)
CONSOLES = int(os.environ.get("BENCH_CONSOLES", "40"))
WARMUP = 5
TARGET_P99_MS = 50.0
TARGET_PAGE_KB = 150.0
LED_1 = 'id = "led-1"\nkind = "led"\ncounter = 1\naddress = 1\n'


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return round(values[k] * 1000, 2)


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "max": pct(values, 100), "n": len(values)}


class Seen:
    """First arrival time (monotonic) of each number on one channel."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    def mark(self, number: str | None, t: float | None = None) -> None:
        if number:
            with self.lock:
                self.at.setdefault(number, t if t is not None else time.monotonic())

    def get(self, number: str) -> float | None:
        with self.lock:
            return self.at.get(number)


def sign_in(client: httpx.Client, login: str, password: str) -> str:
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", json={"login": login, "password": password}, headers={"X-CSRF-Token": csrf})
    assert r.json()["ok"], r.text
    return re.search(r'name="csrf" content="([^"]+)"', client.get("/console").text).group(1)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_figures(url: str) -> dict[str, float | int]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("#user", "lan")
        page.fill("#password", "matkhau-lan")
        page.click("#signin")
        page.wait_for_url("**/console")
        page.wait_for_selector("body[data-live='1']")
        sizes: dict[str, int] = {}

        def on_response(resp) -> None:
            if "/api/events" in resp.url:
                return
            try:
                sizes[resp.url] = len(resp.body())
            except Exception:  # noqa: BLE001 - a redirect has no body
                sizes[resp.url] = 0
        page.on("response", on_response)
        t0 = time.monotonic()
        page.goto(url + "/console")
        page.wait_for_selector("body[data-live='1']")
        first_action = time.monotonic() - t0
        browser.close()
    return {"page_bytes": sum(sizes.values()), "page_files": len(sizes),
            "first_action_ms": round(first_action * 1000, 1)}


async def live_consoles(url: str, cookies: httpx.Cookies, csrf: str, presses: int, first_number: int
                        ) -> tuple[list[float], int]:
    """CONSOLES SSE streams; `presses` Next presses; per stream, press -> the new number."""
    sent: dict[str, float] = {}
    got: list[dict[str, float]] = [dict() for _ in range(CONSOLES)]
    ready = [asyncio.Event() for _ in range(CONSOLES)]
    limits = httpx.Limits(max_connections=CONSOLES + 5, max_keepalive_connections=CONSOLES + 5)

    async def stream(i: int, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/api/events") as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event == "snapshot":
                        ready[i].set()
                    elif event == "part":
                        part = json.loads(line[6:])
                        if part["key"] == "counter:1" and part["value"] and part["value"].get("serving"):
                            got[i].setdefault(part["value"]["serving"]["number"], time.monotonic())

    async with httpx.AsyncClient(base_url=url, cookies=cookies, limits=limits, timeout=None) as client:
        tasks = [asyncio.create_task(stream(i, client)) for i in range(CONSOLES)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 60)
        async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=10) as poster:
            for k in range(presses):
                number = str(first_number + k)
                sent[number] = time.monotonic()
                r = await poster.post("/api/counter/1", json={"action": "next", "rid": f"live{k:06d}"},
                                      headers={"X-CSRF-Token": csrf})
                assert r.json()["ok"], r.text
                end = time.monotonic() + 5
                while time.monotonic() < end and not all(number in g for g in got):
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = [g[n] - sent[n] for g in got for n in sent if n in g]
    missed = sum(1 for g in got for n in sent if n not in g)
    return lat, missed


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-web-"))
    led_line = PtyPair()
    cfg = copy_config(tmp, replace={LED_1: LED_1 + f'backend = "serial"\nport = "{led_line.path}"\n'})
    port = free_port()
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\n[web]\nenabled = true\nport = {port}\n", encoding="utf-8")
    office = TestOffice(tmp / "data", cfg).start()
    add_staff(office.data)
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="WARNING")
    procs: dict[str, subprocess.Popen] = {}

    def daemon(name: str, device: str | None = None) -> None:
        user = device or name
        cmd = [sys.executable, "-m", "edge.cli", name, str(cfg), "--data", str(office.data),
               "--broker", f"mqtt://{user}:{office.creds[user]}@127.0.0.1:{office.port}"]
        if device:
            cmd += ["--device", device]
        log = open(tmp / f"{user}.log", "wb")
        procs[user] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    led, tv, tv_queue = Seen(), Seen(), Seen()
    board = SimulatedBoards(led_line.master, ModbusRTU(4), name="bench",
                            on_show=lambda shown, t: led.mark(shown.text or None, t)).start()
    t = office.topics
    url = f"http://127.0.0.1:{port}"
    result: dict = {}
    try:
        for name, device in (("engine", None), ("led", "led-1"), ("web", None)):
            daemon(name, device)
        admin = office.client("admin")
        statuses: dict[str, dict] = {}
        admin.subscribe(t.device_status_all, lambda tp, p: statuses.__setitem__(tp.split("/")[-2], json.loads(p)))

        def on_counter(topic: str, payload: bytes) -> None:
            serving = json.loads(payload).get("serving")
            tv.mark(serving and serving.get("number"))

        def on_queue(topic: str, payload: bytes) -> None:
            calls = json.loads(payload).get("recent_calls") or []
            tv_queue.mark(calls[0]["number"] if calls else None)
        admin.subscribe(t.counter_state(1), on_counter)
        admin.subscribe(t.queue_state, on_queue)

        def ready() -> bool:
            return all(statuses.get(d, {}).get("state") == "ok" for d in ("engine", "led-1", "web")) \
                and statuses.get("led-1", {}).get("detail", {}).get("boards", {}).get("1") == "ok"
        assert wait_until(ready, 120), f"daemons not ready: {statuses}"
        assert wait_until(lambda: _http_up(url), 30), "web daemon not listening"
        total = N + WARMUP + LIVE
        for _ in range(total):
            assert admin.request(t.ticket_issue, {"service": "HT"}, timeout=5)["ok"]

        client = httpx.Client(base_url=url, timeout=10)
        csrf = sign_in(client, "lan", "matkhau-lan")
        assert client.post("/api/counter/1", json={"action": "open", "rid": "benchopen0"},
                           headers={"X-CSRF-Token": csrf}).json()["ok"]
        lat: dict[str, list[float]] = {"action": [], "led": [], "tv": [], "tv_queue": []}
        missed = 0
        cpu0, wall0 = cpu_s(procs["web"].pid), time.monotonic()
        for i in range(N + WARMUP):
            number = str(2001 + i)
            t0 = time.monotonic()
            r = client.post("/api/counter/1", json={"action": "next", "rid": f"bench{i:06d}"},
                            headers={"X-CSRF-Token": csrf})
            t1 = time.monotonic()
            assert r.json()["message"] == f"Đã gọi số {number} đến Quầy 1.", r.text
            if not wait_until(lambda: all(s.get(number) for s in (led, tv, tv_queue)), 10, interval=0.002):
                missed += 1
            if i >= WARMUP:
                lat["action"].append(t1 - t0)
                for key, seen in (("led", led), ("tv", tv), ("tv_queue", tv_queue)):
                    at = seen.get(number)
                    if at is not None:
                        lat[key].append(at - t0)
            time.sleep(0.05)
        web_cpu = (cpu_s(procs["web"].pid) - cpu0) / (time.monotonic() - wall0)

        page = browser_figures(url)
        cpu1, wall1 = cpu_s(procs["web"].pid), time.monotonic()
        live_lat, live_missed = asyncio.run(live_consoles(url, client.cookies, csrf, LIVE, 2001 + N + WARMUP))
        live_cpu = (cpu_s(procs["web"].pid) - cpu1) / (time.monotonic() - wall1)
        client.close()
        result = {
            "bench": "web_console", "presses": N, "missed": missed, "cpus": os.cpu_count(),
            "action_ms": summary(lat["action"]), "led_ms": summary(lat["led"]), "tv_ms": summary(lat["tv"]),
            "tv_queue_ms": summary(lat["tv_queue"]), "web_cpu_share_pressing": round(web_cpu, 3),
            "target_p99_ms": TARGET_P99_MS,
            "led_p99_ok": bool(lat["led"]) and pct(lat["led"], 99) < TARGET_P99_MS,
            "tv_p99_ok": bool(lat["tv"]) and pct(lat["tv"], 99) < TARGET_P99_MS,
            **page, "page_kb": round(page["page_bytes"] / 1024, 1), "target_page_kb": TARGET_PAGE_KB,
            "page_ok": page["page_bytes"] / 1024 < TARGET_PAGE_KB,
            "consoles": CONSOLES, "live_presses": LIVE, "live_ms": summary(live_lat), "live_missed": live_missed,
            "web_cpu_share_live": round(live_cpu, 3),
            "setup": "engine, led (serial->pty, Modbus RTU), web (uvicorn) each a motcua process; real mosquitto; "
                     "HTTP client httpx; page figures from Debian's chromium via Playwright",
        }
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        board.stop()
        office.close()
        led_line.close()
    print(json.dumps(result, ensure_ascii=False))


def _http_up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
