"""The engine's data directory runs out of space: refuse clearly, lose nothing, recover by itself."""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from edge.bus import wait_until
from harness import TestOffice


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> Path:
    filler = path / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_disk_full_refuses_with_unavailable_and_recovers(tmp_path, tiny_fs):
    office = TestOffice(tiny_fs / "data").start()
    try:
        office.start_engine()
        c, t = office.client(), office.topics
        statuses: list[dict] = []
        office.client("admin").subscribe(t.device_status("engine"), lambda tp, p: statuses.append(json.loads(p)))
        acked = [c.request(t.ticket_issue, {"service": "HT"})["ticket"] for _ in range(5)]
        filler = fill(tiny_fs)
        refused = None
        for _ in range(200):  # a few may still fit in pages SQLite already has
            r = c.request(t.ticket_issue, {"service": "HT"}, timeout=5)
            if not r["ok"]:
                refused = r
                break
            acked.append(r["ticket"])
        assert refused is not None and refused["error"]["code"] == "unavailable"
        assert "thử lại" in refused["error"]["message"]
        assert wait_until(lambda: statuses and statuses[-1].get("state") == "error", 5)
        os.unlink(filler)
        again = c.request(t.ticket_issue, {"service": "HT"}, timeout=5)
        assert again["ok"], again
        acked.append(again["ticket"])
        assert wait_until(lambda: statuses[-1].get("state") == "ok", 5)
        db = sqlite3.connect(office.data / "engine" / "engine.db")
        stored = dict(db.execute("SELECT ticket_id, number FROM tickets").fetchall())
        assert {tk["ticket_id"]: tk["number"] for tk in acked} == stored  # none lost, none extra
        assert len(set(stored.values())) == len(stored)
    finally:
        office.close()
