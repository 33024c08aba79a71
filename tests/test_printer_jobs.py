"""Issue 11 finding 2: no print job jams the printer. Bad jobs are refused at intake; a job that
fails for a reason of its own is marked failed after a bounded number of tries and never
blocks the ones behind it; the printer's status says when jobs fail or are stuck; old rows
are pruned. Through the real broker, the printer daemon and its durable SQLite queue."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from test_printer import Watch, job, printer  # noqa: F401 - the fixture

from edge.bus import wait_until
from printer.jobs import JobQueue


def test_path_like_ids_and_huge_tickets_are_refused_and_good_jobs_print(office, printer):  # noqa: F811
    w = Watch(office)
    errors: list[dict] = []
    w.client.subscribe(office.topics.error, lambda _t, p: errors.append(json.loads(p)))
    d = printer()
    kiosk = office.client("kiosk-1", kind="kiosk")
    topic = office.topics.print_job("printer-1")
    bad = [job(office, jid) for jid in (".", "..", "...")]
    huge = job(office, "huge-1")
    huge["ticket"]["ticket_id"] = "x" * 60000
    long_name = job(office, "long-name-1")
    long_name["ticket"]["service_name"] = "Chứng thực " * 3000
    for j in bad + [huge, long_name]:
        kiosk.publish(topic, j)
    good = [job(office, f"good-{i}", f"20{i:02d}") for i in range(1, 6)]
    for j in good:
        kiosk.publish(topic, j)
    assert wait_until(lambda: all("printed" in w.outcomes(j["job_id"]) for j in good), 30), w.results
    for j in bad + [huge, long_name]:
        assert w.outcomes(j["job_id"]) == ["rejected"], (j["job_id"], w.outcomes(j["job_id"]))
    assert wait_until(lambda: len([e for e in errors if e["topic"] == topic]) >= 5, 10), errors
    assert d.queue.pending() == 0 and d.backend.printed == [j["job_id"] for j in good]
    assert wait_until(lambda: w.status.get("state") == "ok", 10), w.status


def test_a_job_that_keeps_failing_is_marked_failed_and_the_queue_moves_on(office, printer):  # noqa: F811
    # A job already in the durable queue (stored by an older version) that the layout cannot print.
    path = office.data / "printer-1" / "jobs.sqlite"
    q = JobQueue(path)
    poison = job(office, "poison-1")
    poison["ticket"]["ticket_id"] = "y" * 60000
    q.add("poison-1", poison, poison["created_at"])
    for i in range(1, 4):
        j = job(office, f"after-{i}", f"20{i:02d}")
        q.add(j["job_id"], j, j["created_at"])
    q.close()
    w = Watch(office)
    d = printer()
    assert wait_until(lambda: all("printed" in w.outcomes(f"after-{i}") for i in range(1, 4)), 30), w.results
    assert "failed" in w.outcomes("poison-1")
    with sqlite3.connect(path) as db:
        state, attempts = db.execute("SELECT state, attempts FROM jobs WHERE job_id='poison-1'").fetchone()
    assert state == "failed" and 1 <= attempts <= 3
    assert d.queue.pending() == 0


def test_status_says_when_jobs_fail_and_recovers(office, printer, tmp_path):  # noqa: F811
    w = Watch(office)
    d = printer()
    kiosk = office.client("kiosk-1", kind="kiosk")
    topic = office.topics.print_job("printer-1")
    assert wait_until(lambda: w.status.get("state") == "ok", 10), w.status
    # the output goes nowhere (a file where its folder should be): every job fails in the backend
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    out, d.backend.output_dir = d.backend.output_dir, blocker / "sub"
    kiosk.publish(topic, job(office, "f-1", "2001"))
    assert wait_until(lambda: w.status.get("state") == "error"
                      and w.status.get("detail", {}).get("problem") == "jobs_failing", 20), w.status
    d.backend.output_dir = out
    kiosk.publish(topic, job(office, "f-2", "2002"))
    assert wait_until(lambda: "printed" in w.outcomes("f-2"), 30), w.results
    assert wait_until(lambda: w.status.get("state") == "ok", 15), w.status


def test_finished_rows_are_pruned(tmp_path):
    q = JobQueue(tmp_path / "jobs.sqlite")
    old = (datetime.now().astimezone() - timedelta(days=40)).isoformat(timespec="seconds")
    for i in range(30):
        q.add(f"j-{i}", {"n": i}, old)
        q.mark(f"j-{i}", "printed", old)
    q.add("waiting", {"n": 99}, old)
    removed = q.prune(keep=10)  # the newest 10 rows stay: j-21..j-29 and the waiting one
    assert removed == 21
    assert q.state("waiting") == "queued" and q.state("j-21") == "printed" and q.state("j-20") is None
    q.close()


def test_a_printer_that_hangs_on_a_job_says_stuck(office, printer):  # noqa: F811
    import threading
    w = Watch(office)
    d = printer()
    d.stuck_after_s = 1.0  # 60 s in production
    kiosk = office.client("kiosk-1", kind="kiosk")
    assert wait_until(lambda: w.status.get("state") == "ok", 10), w.status
    release = threading.Event()
    d.backend.on_first_byte = lambda job_id, ts: release.wait(60)  # the write never returns...
    kiosk.publish(office.topics.print_job("printer-1"), job(office, "hang-1", "2001"))
    assert wait_until(lambda: w.status.get("state") == "error"
                      and w.status.get("detail", {}).get("problem") == "stuck", 30), w.status
    assert w.status["detail"]["stuck_job"] == "hang-1"
    release.set()  # ... until it does
    assert wait_until(lambda: "printed" in w.outcomes("hang-1"), 20), w.results
    assert wait_until(lambda: w.status.get("state") == "ok", 20), w.status
