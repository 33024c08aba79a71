"""A realistic mid-morning waiting room for the ward example office: payloads per PROTOCOL.md.

Used by the display tests (screenshots) and bench/display_idle.py.
"""
from __future__ import annotations

from typing import Any

TS = "2026-11-23T09:42:10+07:00"
DAY = "2026-11-23"

SERVICES = [  # code, name, waiting, last issued, last called
    ("DD", "Đất đai - Xây dựng", 7, "1031", "1024"),
    ("HT", "Chứng thực - Hộ tịch", 12, "2047", "2035"),
    ("LD", "Lao động - Thương binh và Xã hội", 2, "3009", "3007"),
    ("TK", "Tiếp nhận và trả kết quả", 0, "4015", "4015"),
    ("KH", "Lĩnh vực khác", 3, "5012", "5009"),
]
NAMES = {code: name for code, name, *_ in SERVICES}

COUNTERS = [  # number, status, staff, serving number, service
    (1, "open", "Nguyễn Văn Hùng", "1023", "DD"),
    (2, "open", "Trần Thị Lan", "2035", "HT"),
    (3, "open", "Lê Minh Đức", "2034", "HT"),
    (4, "paused", "Phạm Thu Hương", "3007", "LD"),
    (5, "closed", None, None, None),
    (6, "open", "Võ Thị Ánh", None, None),
]

RECENT = [("1023", 1), ("2035", 2), ("2034", 3), ("5009", 6), ("3007", 4), ("2033", 2)]
NOTICE = ("Thông báo: Từ ngày 01/12/2026, bộ phận một cửa tiếp nhận hồ sơ đất đai vào buổi sáng "
          "các ngày thứ Hai, thứ Tư và thứ Sáu. Công dân vui lòng mang theo căn cước công dân "
          "và kiểm tra kỹ thành phần hồ sơ trước khi nộp. Xin cảm ơn!")


def ticket(number: str, service: str, counter: int | None, status: str = "called", seq: int = 1) -> dict[str, Any]:
    return {"ticket_id": f"20261123-{service}-{number}", "number": number, "seq": seq, "service": service,
            "service_name": NAMES.get(service, service), "priority": "none", "day": DAY,
            "issued_at": "2026-11-23T09:30:00+07:00", "status": status, "counter": counter}


def counter_state(number: int, status: str, staff: str | None, serving: str | None,
                  service: str | None, name: str | None = None) -> dict[str, Any]:
    return {"counter": number, "name": name or f"Quầy {number}", "status": status, "staff": staff,
            "services": [service] if service else [],
            "serving": ticket(serving, service, number) if serving and service else None, "ts": TS}


def queue_state(recent: list[tuple[str, int]] = RECENT) -> dict[str, Any]:
    return {"day": DAY,
            "services": [{"code": c, "name": n, "open": c != "TK", "waiting": w, "last_issued": li,
                          "last_called": lc, "estimated_wait_s": w * 300} for c, n, w, li, lc in SERVICES],
            "recent_calls": [{"number": n, "counter": c, "counter_name": f"Quầy {c}", "ts": TS}
                             for n, c in recent],
            "ts": TS}


def called(number: str, service: str, counter: int, ts: str = TS) -> dict[str, Any]:
    return {"ticket": ticket(number, service, counter), "counter": counter,
            "counter_name": f"Quầy {counter}", "ts": ts}


def publish_scene(bus: Any, topics: Any, notice: str | None = NOTICE) -> None:
    """Publish the retained state of the scene (as the engine would)."""
    for c in COUNTERS:
        bus.publish(topics.counter_state(c[0]), counter_state(*c), retain=True)
    bus.publish(topics.queue_state, queue_state(), retain=True)
    if notice is not None:
        bus.publish(topics.display_notice, {"text": notice, "until": None}, retain=True)
