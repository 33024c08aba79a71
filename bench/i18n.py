"""What the message catalogue costs: reading the .po files at start, one lookup, the check.

The catalogues are .po files read through Babel at first use (no compiled .mo); this says
what that choice costs a daemon at start and per text drawn, and what RAM the import of
Babel adds.

    .venv/bin/python bench/i18n.py
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from edge import i18n
    from edge.i18n import tool

    t0 = time.perf_counter()
    for locale in i18n.LOCALES:
        i18n.catalogue(locale)
    load_ms = (time.perf_counter() - t0) * 1000
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = 20000
    t0 = time.perf_counter()
    for i in range(n):
        i18n.t("Số {number}", "en", number=i)
    lookup_us = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    problems = tool.check()
    check_s = time.perf_counter() - t0
    print(json.dumps({
        "messages": len(i18n.catalogue("vi").messages),
        "locales": len(i18n.LOCALES),
        "load_both_catalogues_ms": round(load_ms, 2),
        "rss_added_by_babel_and_catalogues_kib": rss1 - rss0,
        "lookup_and_format_us": round(lookup_us, 3),
        "check_s": round(check_s, 3),
        "check_problems": len(problems),
    }))


if __name__ == "__main__":
    main()
