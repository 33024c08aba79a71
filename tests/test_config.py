"""Office configuration: examples load; every error names file, line and field."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, load, loads

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "config" / "examples").glob("*.toml"))


def motcua(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid(path):
    cfg = load(path)
    assert cfg.office.id and cfg.services and cfg.counters


def test_example_sizes():
    sizes = {p.stem: len(load(p).counters) for p in EXAMPLES}
    assert sizes["ward"] == 6 and sizes["district"] == 10 and sizes["province"] == 40
    prov = load(ROOT / "config/examples/province.toml")
    assert len({c.zone for c in prov.counters}) >= 5 and len({c.floor for c in prov.counters}) >= 3


def issues_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        loads(text, "office.toml")
    return [str(i) for i in exc.value.issues]


BASE = (ROOT / "tests/data/small.toml").read_text(encoding="utf-8")


def test_unknown_key_has_line_and_path():
    text = BASE.replace("daily_quota = 5", "daily_qouta = 5")
    line = text.splitlines().index("daily_qouta = 5") + 1
    assert issues_of(text) == [f"office.toml:{line}: services[2].daily_qouta: unknown setting (check the spelling)"]


def test_bad_values_each_reported():
    text = BASE.replace('id = "TEST.01.H99"', 'id = "bad office!"').replace(
        'mon = ["00:00-24:00"]', 'mon = ["08:00-07:00"]').replace('kind = "printer"\nbackend = "virtual"',
                                                                   'kind = "printer"\nbackend = "laser"')
    got = issues_of(text)
    lines = text.splitlines()
    id_line = lines.index('id = "bad office!"') + 1
    backend_line = lines.index('backend = "laser"') + 1
    assert any(g.startswith(f"office.toml:{id_line}: office.id:") for g in got), got
    assert any("office.hours.mon" in g and "ends before it starts" in g for g in got), got
    assert any(f":{backend_line}: devices[0].backend:" in g for g in got), got


def test_cross_field_rules():
    text = BASE.replace('services = ["KD", "DD"]', 'services = ["KD", "XX"]').replace(
        "number_start = 1001\nnumber_end = 1999", "number_start = 2500\nnumber_end = 2600")
    got = issues_of(text)
    assert any("counters[2].services[1]" in g and "unknown service 'XX'" in g for g in got), got
    assert any("services[1].number_start" in g and "overlap" in g for g in got), got


def test_duplicate_device_and_missing_counter():
    got = issues_of(BASE.replace('id = "led-1"', 'id = "printer-1"'))
    assert any("devices[5].id" in g and "already used" in g for g in got), got
    got = issues_of(BASE.replace('id = "led-1"\nkind = "led"\ncounter = 1', 'id = "led-1"\nkind = "led"'))
    assert any("devices[5]" in g and "counter" in g for g in got), got


def test_toml_syntax_error_has_line():
    text = BASE.replace('name = "Đất đai"', 'name = "Đất đai')
    got = issues_of(text)
    assert len(got) == 1 and got[0].startswith("office.toml:") and "(syntax)" in got[0]


def test_cli_check_and_show(tmp_path):
    ok = motcua("config", "check", "config/examples/ward.toml")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("daily_quota = 5", "daily_quota = -1"), encoding="utf-8")
    r = motcua("config", "check", str(bad))
    assert r.returncode == 1 and f"{bad}:" in r.stderr and "services[2].daily_quota" in r.stderr
    show = motcua("config", "show", "config/examples/district.toml", "--json")
    data = json.loads(show.stdout)
    assert data["office"]["id"] == "000.00.17.H29"
    assert [c["number"] for c in data["counters"]] == list(range(1, 11))
    assert data["services"][0]["code"] == "DD" and data["counters"][1]["services"] == ["DD", "XD"]
    missing = motcua("config", "check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
