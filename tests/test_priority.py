"""Priority through the real broker: priority counters, interleave order vs. printed people-ahead."""
from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import loads
from harness import TestOffice

CONFIG = """
[office]
id = "TEST.PRIO.H99"
name = "Trung tâm thử nghiệm ưu tiên"
[office.hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[[services]]
code = "HT"
name = "Chứng thực - Hộ tịch"
number_start = 2001
number_end = 2999
priority = { policy = "interleave", every = 3 }

[[services]]
code = "DD"
name = "Đất đai"
number_start = 1001
number_end = 1999
priority = { policy = "interleave", every = 3 }

[[counters]]
number = 1
services = ["HT"]

[[counters]]
number = 2
services = ["HT"]

[[counters]]
number = 3
services = ["DD"]

[[counters]]
number = 4
name = "Quầy 4 - Ưu tiên"
priority = true
services = ["DD"]

[hub]
enabled = false
"""

# A recorded morning at HT: n = an ordinary ticket; e d p c o = a priority ticket (elderly,
# disabled, pregnant, child, other); 1 / 2 = that counter presses Next. 200 tickets in all.
MORNING = (
    "nennd1nd122eddn2212n2211np2n2n1n1nnnnd1od12121nnnnn1n2ndnnn11d21n111212on2121n2n"
    "12nponc11nnnnnn2nn2n1nnnn22n1nn1n22pdn111n1d111ndnn1nn1121nn1nnn2en2nn1nnn22nnn2"
    "1nnon1n2n1nnnnnpnnn12nnnnn2occnnnnn2ncn2n12endn2n21p2221nn1nndnnncp1n2n2n2nn2cnn"
    "n12nncdonnnn1n2n2n2nnnonnn11npn2n1on2n1e12211e1ennd22n2den1nn2nn2n2d2n2nd2onn21n"
    "c21oneo"
)
PRIO = {"n": "none", "e": "elderly", "d": "disabled", "p": "pregnant", "c": "child", "o": "other"}


@pytest.fixture
def prio_office(tmp_path: Path):
    path = tmp_path / "prio.toml"
    path.write_text(CONFIG, encoding="utf-8")
    o = TestOffice(tmp_path / "data", path).start()
    o.start_engine()
    yield o
    o.close()


def issue(c, t, service: str, priority: str = "none") -> dict:
    r = c.request(t.ticket_issue, {"service": service, "priority": priority}, timeout=10)
    assert r["ok"], r
    return r


def cmd(c, t, counter: int, action: str, **kw) -> dict:
    r = c.request(t.counter_command(counter), {"action": action, **kw}, timeout=10)
    assert r["ok"], r
    return r


def test_interleave_printed_people_ahead_matches_the_real_order(prio_office: TestOffice) -> None:
    c, t = prio_office.client(), prio_office.topics
    assert sum(ch in PRIO for ch in MORNING) == 200
    cmd(c, t, 1, "open", staff="Nguyễn Thị Lan")
    cmd(c, t, 2, "open", staff="Trần Văn Minh")
    issued: dict[str, tuple[int, str, int, int]] = {}  # number -> (step, priority, printed ahead, waiting)
    called: list[tuple[int, str]] = []  # (step, number) in call order
    waiting = 0
    for step, ch in enumerate(MORNING):
        if ch in PRIO:
            r = issue(c, t, "HT", PRIO[ch])
            issued[r["ticket"]["number"]] = (step, PRIO[ch], r["waiting_ahead"], waiting)
            waiting += 1
        else:
            got = cmd(c, t, int(ch), "next")["ticket"]
            if got is not None:
                called.append((step, got["number"]))
                waiting -= 1
    step = len(MORNING)
    while waiting:  # the afternoon: counters drain the queue
        got = cmd(c, t, 1 + step % 2, "next")["ticket"]
        assert got is not None
        called.append((step, got["number"]))
        waiting -= 1
        step += 1
    assert sorted(n for _, n in called) == sorted(issued)  # nothing lost, nothing called twice
    order = [n for _, n in called]
    call_step = {n: s for s, n in called}
    gained = 0
    for number, (at, prio, printed, was_waiting) in issued.items():
        before = order[: order.index(number)]
        # tickets already waiting when this one was issued and called before it
        ahead = [n for n in before if issued[n][0] < at and call_step[n] > at]
        newer = [n for n in before if issued[n][0] > at]
        assert len(ahead) == printed, (number, prio, printed, ahead)
        if prio != "none":
            assert newer == [], (number, newer)  # nobody issued later passes a priority ticket
            gained += printed < was_waiting
        else:
            assert all(issued[n][1] != "none" for n in newer), (number, newer)  # only priority passes
    assert gained >= 10  # priority tickets really went ahead of people waiting


def test_priority_counter_calls_priority_tickets_before_every_regular_one(prio_office: TestOffice) -> None:
    c, t = prio_office.client(), prio_office.topics
    for p in ["none", "none", "none", "none", "none", "pregnant", "none", "elderly"]:
        issue(c, t, "DD", p)
    # numbers 1001-1005 ordinary, 1006 pregnant, 1007 ordinary, 1008 elderly
    cmd(c, t, 3, "open")
    cmd(c, t, 4, "open")
    late = issue(c, t, "DD", "disabled")  # 1009: behind the two older priority tickets only
    assert late["waiting_ahead"] == 2
    regular = issue(c, t, "DD")  # 1010: behind everyone
    assert regular["waiting_ahead"] == 9
    got = [cmd(c, t, 4, "next")["ticket"]["number"] for _ in range(3)]
    assert got == ["1006", "1008", "1009"]  # before 1001-1005 and 1007, all older
    assert cmd(c, t, 3, "next")["ticket"]["number"] == "1001"  # the regular counter: arrival order
    assert cmd(c, t, 4, "next")["ticket"]["number"] == "1002"  # no priority left: the others as usual
    issue(c, t, "DD", "child")  # 1011
    assert cmd(c, t, 4, "next")["ticket"]["number"] == "1011"


def test_closed_priority_counter_does_not_shorten_the_printed_queue(prio_office: TestOffice) -> None:
    c, t = prio_office.client(), prio_office.topics
    for _ in range(6):
        issue(c, t, "DD")
    r = issue(c, t, "DD", "elderly")  # counter 4 closed: the interleave of counter 3 applies
    assert r["waiting_ahead"] == 3
    cmd(c, t, 3, "open")
    assert [cmd(c, t, 3, "next")["ticket"]["number"] for _ in range(4)] == ["1001", "1002", "1003", "1007"]


def test_default_categories_are_vietnamese_and_configurable() -> None:
    cfg = loads(CONFIG)
    names = [(cat.priority, cat.name) for cat in cfg.priority_categories]
    assert names == [("elderly", "Người cao tuổi (từ 60 tuổi)"), ("disabled", "Người khuyết tật"),
                     ("pregnant", "Phụ nữ mang thai"), ("other", "Người có công với cách mạng"),
                     ("child", "Người đi cùng trẻ nhỏ (dưới 6 tuổi)")]
    own = loads(CONFIG + '\n[[priority_categories]]\npriority = "elderly"\nname = "Người từ 75 tuổi"\n')
    assert [c.name for c in own.priority_categories] == ["Người từ 75 tuổi"]
    assert own.priority_name("elderly") == "Người từ 75 tuổi" and own.priority_name("child") == "child"
