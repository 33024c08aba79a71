"""Property-based fuzzing of every request topic: random and malformed payloads, no daemon dies.

The daemons run as real processes behind a real mosquitto; after the storm each must still
be alive and answer a well-formed request correctly.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.bus import wait_until
from harness import TestOffice, hostile_payloads

ROOT = Path(__file__).resolve().parents[1]

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=80)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20)
FIELDS = ["service", "priority", "source", "action", "staff", "reason", "to_counter", "number", "code",
          "counter", "ticket_id", "level", "reasons", "comment", "query", "field", "limit", "offset"]


def payloads(reply_to: str):
    ids = st.text(alphabet="abcXYZ019._:-", min_size=1, max_size=70) | json_scalars
    replies = st.just(reply_to) | st.text(max_size=30) | json_scalars
    requests = st.fixed_dictionaries(
        {"id": ids, "reply_to": replies},
        optional={f: (json_values | st.sampled_from(["HT", "DD", "next", "open", "call", "transfer", "unsatisfied",
                                                      "000.17.22.H56-210531-0001", "1", "2001"]))
                  for f in FIELDS})
    raw = st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values)
    return raw | st.builds(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass"), requests)


def _spawn(office: TestOffice, name: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MOTCUA_LOG="ERROR")
    return subprocess.Popen([sys.executable, "-m", "edge.cli", name, str(office.config_path),
                             "--data", str(office.data), "--broker", f"mqtt://127.0.0.1:{office.port}", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def fuzz_office(tmp_path_factory):
    office = TestOffice(tmp_path_factory.mktemp("fuzz") / "data").start()
    procs = {"engine": _spawn(office, "engine")}
    if importlib.util.find_spec("hub.daemon") is not None:
        procs["hub"] = _spawn(office, "hub")
    procs["printer"] = _spawn(office, "printer", "--device", "printer-1")
    client = office.client("admin")
    t = office.topics
    assert wait_until(lambda: _answers(client, t), 30)
    yield office, procs, client
    for p in procs.values():
        p.terminate()
        p.wait(10)
    office.close()


def _answers(client, t) -> bool:
    try:
        return client.request(t.ticket_issue, {"service": "KD"}, timeout=0.5, retries=0)["ok"] is not None
    except Exception:
        return False


def _topics(t):
    return [t.ticket_issue, t.counter_command(1), t.counter_command(3), t.counter_command("x"),
            t.engine_admin, t.rating_submit, t.dossier_lookup, t.print_job("printer-1"),
            t.procedures_search, t.procedures_get]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_random_payloads_never_kill_a_daemon(fuzz_office, data):
    office, procs, client = fuzz_office
    t = office.topics
    topic = data.draw(st.sampled_from(_topics(t)))
    payload = data.draw(payloads(client.reply_topic))
    client.publish(topic, payload)


def _job(job_id: str, ticket_id: str = "20261123-HT-0001") -> dict:
    t = {"ticket_id": ticket_id, "number": "2001", "seq": 1, "service": "HT", "service_name": "Hộ tịch",
         "priority": "none", "day": "2026-11-23", "issued_at": "2026-11-23T08:00:00+07:00", "status": "waiting",
         "counter": None}
    return {"job_id": job_id, "ticket": t, "created_at": "2099-01-01T00:00:00+07:00"}


def test_hostile_inputs_are_reported_on_the_error_topic_by_every_responder(fuzz_office):
    office, procs, client = fuzz_office
    t = office.topics
    errors: list[dict] = []
    results: list[dict] = []
    client.subscribe(t.error, lambda _t, p: errors.append(json.loads(p)))
    client.subscribe(t.print_result("printer-1"), lambda _t, p: results.append(json.loads(p)))
    topics = [t.ticket_issue, t.counter_command(1), t.engine_admin, t.rating_submit, t.print_job("printer-1")]
    if "hub" in procs:
        topics.append(t.dossier_lookup)
    for topic in topics:
        for payload in hostile_payloads(client.reply_topic).values():
            client.publish(topic, payload)
    # path-like job ids and a 60,000-character ticket id never reach the printer's queue
    for jid in (".", "..", "..."):
        client.publish(t.print_job("printer-1"), _job(jid))
    client.publish(t.print_job("printer-1"), _job("long-1", "x" * 60000))
    want = {topic: 3 for topic in topics}
    want[t.print_job("printer-1")] += 4

    def reported() -> bool:
        return all(sum(e["topic"] == tp for e in errors) >= n for tp, n in want.items())
    assert wait_until(reported, 30), {tp: sum(e["topic"] == tp for e in errors) for tp in want}
    assert wait_until(lambda: {r["job_id"] for r in results if r["outcome"] == "rejected"}
                      >= {".", "..", "...", "long-1"}, 15), results
    client.publish(t.print_job("printer-1"), _job("fine-1"))
    assert wait_until(lambda: any(r["job_id"] == "fine-1" and r["outcome"] == "printed" for r in results), 30), results


def test_daemons_alive_and_serving_after_the_fuzz(fuzz_office):
    office, procs, client = fuzz_office
    t = office.topics
    for name, p in procs.items():
        assert p.poll() is None, f"{name} died"
    r = client.request(t.ticket_issue, {"service": "HT"}, timeout=5, retries=3)
    assert r["ok"] and r["ticket"]["service"] == "HT"
    r = client.request(t.counter_command(2), {"action": "open", "staff": "Kiểm Thử"}, timeout=5, retries=3)
    assert r["ok"]
    if "hub" in procs:
        r = client.request(t.dossier_lookup, {"code": "rác không phải mã"}, timeout=5, retries=3)
        assert r["ok"] is False and r["error"]["code"] == "bad_request"
        r = client.request(t.procedures_search, {"query": "khai sinh"}, timeout=5, retries=3)
        assert r["ok"] and r["total"] == len(r["procedures"])
