"""A test office with the web console on a free port and a few staff accounts (tests and bench)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.staff import StaffStore, store_path
from harness import SMALL, TestOffice, copy_config

CHROMIUM = "/usr/lib/chromium/chromium"
STAFF = [
    # login, name, role, password, counters, code, pin
    ("lan", "Nguyễn Thị Lan", "clerk", "matkhau-lan", [1], "101", "1234"),
    ("minh", "Trần Văn Minh", "clerk", "matkhau-minh", [2], "102", "5678"),
    ("hoa", "Lê Thị Hoa", "manager", "matkhau-hoa", [], None, None),
]


def web_config(tmp: Path, extra: str = "") -> Path:
    """small.toml with the console enabled on any free loopback port."""
    path = copy_config(tmp, SMALL)
    path.write_text(path.read_text(encoding="utf-8") + "\n[web]\nenabled = true\nport = 0\n" + extra,
                    encoding="utf-8")
    return path


def add_staff(data: Path, rows: list[tuple] = STAFF) -> None:
    store = StaffStore(store_path(data))
    try:
        for login, name, role, password, counters, code, pin in rows:
            store.add(login, name, role, password, counters=counters, code=code, pin=pin)
    finally:
        store.close()


def start_web(office: TestOffice) -> Any:
    from web.daemon import create
    web = create(office.ctx("web", "web"))
    web.start()
    assert web.bus.connected.wait(10), "web daemon did not connect"
    office._closers.append(web.stop)
    return web


def signed_command(office: TestOffice, client: Any, counter: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A counter command naming a clerk, signed with the office's claim key as the web daemon signs it."""
    import time

    from edge.staff import claim_key, sign_claim
    key = claim_key(office.data, create=True)
    req_id = client.new_id()
    ts = int(time.time())
    fields = {**fields, "staff_ts": ts, "staff_sig": sign_claim(key, req_id, counter, fields["staff_login"], ts)}
    return client.request(office.topics.counter_command(counter), fields, req_id=req_id)
