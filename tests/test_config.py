"""Office configuration: examples load; every error names file, line and field, in Vietnamese and English."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, check, load, loads

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "config" / "examples").glob("*.toml"))


def motcua(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_real_and_simulate(path):
    cfg, errors, warnings = check(path)
    assert errors == [] and warnings == [], [str(w) for w in errors + warnings]  # production files
    assert cfg.office.id and cfg.services and cfg.counters and cfg.hub.adapter == "rest"
    assert "quận" not in cfg.office.name and "huyện" not in cfg.office.name  # no districts since 1 July 2025
    virtual = {"printer": "virtual", "led": "virtual", "scanner": "virtual", "camera": "virtual", "voice": "wav"}
    assert not any(d.kind in virtual and d.backend == virtual[d.kind] for d in cfg.devices)
    sim = load(path, simulate=True)  # what `motcua run --simulate` runs
    assert sim.hub.adapter == "simulator" and {d.host for d in sim.devices} == {"local"}
    for real, fake in zip(cfg.devices, sim.devices):
        assert real.id == fake.id
        if real.kind in virtual:
            assert fake.backend == virtual[real.kind], fake.id
        if real.kind == "keypad":
            assert fake.backend in ("virtual", "screen"), fake.id
    assert [s.code for s in sim.services] == [s.code for s in cfg.services] and sim.counters == cfg.counters
    fields = {s.field for s in cfg.services}
    assert not fields & {"Lao động - TBXH", "Lao động - Thương binh và Xã hội", "Tài nguyên - Môi trường",
                         "Kế hoạch và Đầu tư"}  # departments renamed or merged in 2025


def test_example_sizes():
    sizes = {p.stem: len(load(p).counters) for p in EXAMPLES}
    assert sizes == {"ward": 6, "commune": 10, "province": 40}
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
    assert issues_of(text) == [f"office.toml:{line}: services[2].daily_qouta: không có thiết lập \"daily_qouta\"; "
                               f"có phải ý bạn là \"daily_quota\"? / unknown setting; did you mean \"daily_quota\"?"]


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
    show = motcua("config", "show", "config/examples/commune.toml", "--json")
    data = json.loads(show.stdout)
    assert data["office"]["id"] == "000.00.17.H29"
    assert [c["number"] for c in data["counters"]] == list(range(1, 11))
    assert data["services"][0]["code"] == "DD" and data["counters"][1]["services"] == ["DD", "XD"]
    missing = motcua("config", "check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "không đọc được" in missing.stderr


TEN_MISTAKES = {  # a technician's typical first draft, from the small test office
    "daily_quota = 5": "daily_qouta = 5",                                     # 1 misspelt key
    'tracking_url = "https://motcua.example.vn/ve/{ticket_id}"':
        'tracking_url = "https://motcua.example.vn/ve/{ticket_id}"\nholidays = ["2026-02-30"]',  # 2 no such day
    'mon = ["00:00-24:00"]': 'mon = ["07:30-11:30", "11:00-17:00"]',           # 3 overlapping hours
    'tue = ["00:00-24:00"]': 'tue = ["17:00-07:30"]',                          # 4 ends before it starts
    'code = "KD"\nname = "Đăng ký kinh doanh"\n': 'code = "KD"\n',               # 5 a service without a name
    'kind = "printer"\nbackend = "virtual"': 'kind = "printer"\nbackend = "laser"',  # 6 no such backend
    'services = ["KD", "DD"]': 'services = ["KD", "XX"]',                      # 7 unknown service
    "number = 2\n": "number = 1\n",                                            # 8 counter number twice
    'kind = "led"\ncounter = 1': 'kind = "led"\ncounter = 9',                  # 9 unknown counter
    'timezone = "Asia/Ho_Chi_Minh"': 'timezone = "Asia/Hanoi"',                # 10 no such time zone
}


def test_ten_typical_mistakes_listed_at_once(tmp_path):
    text = BASE
    for old, new in TEN_MISTAKES.items():
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    bad = tmp_path / "office.toml"
    bad.write_text(text, encoding="utf-8")
    r = motcua("config", "check", str(bad))
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.startswith(f"{bad}:") and "error(s)" not in l]
    lines_of = text.splitlines()

    def at(snippet: str, nth: int = 0) -> str:
        return f"{bad}:{[i for i, l in enumerate(lines_of, 1) if snippet == l or snippet in l][nth]}:"

    kd_header = lines_of.index('code = "KD"')  # the 1-based number of the line before it
    expected = [  # (where, field, Vietnamese words, English words)
        (at("daily_qouta"), "services[2].daily_qouta", "có phải ý bạn là \"daily_quota\"", "did you mean"),
        (at("2026-02-30"), "office.holidays[0]", "không phải ngày có thật", "not a real date"),
        (at("11:00-17:00"), "office.hours.mon", "chồng lên nhau", "overlap"),
        (at("17:00-07:30"), "office.hours.tue", "kết thúc trước khi bắt đầu", "ends before it starts"),
        (f"{bad}:{kd_header}:", "services[2].name",  # its [[services]] line
         "thiếu thiết lập bắt buộc: thêm dòng name = ...", "required setting"),
        (at('backend = "laser"'), "devices[0].backend", "viết một trong: usb, serial, network, file, virtual", "one of"),
        (at('"XX"'), "counters[2].services[1]", "không có dịch vụ \"XX\"", "unknown service"),
        (at("number = 1", 1), "counters[1].number", "đã khai báo ở counters[0]", "already defined"),
        (at("counter = 9"), "devices[5].counter", "không có quầy số 9", "unknown counter"),
        (at("Asia/Hanoi"), "office.timezone", "Asia/Ho_Chi_Minh", "unknown time zone"),
    ]
    assert len(lines) == 10, r.stderr
    for where, fld, vi, en in expected:
        hit = [l for l in lines if l.startswith(f"{where} {fld}: ")]
        assert len(hit) == 1, (where, fld, r.stderr)
        msg = hit[0].split(": ", 2)[2]
        assert vi in msg and en in msg and " / " in msg, hit[0]
        assert "Input should" not in msg and "Value error" not in msg, hit[0]  # our words, not pydantic's
    assert "10 lỗi / error(s)" in r.stderr


def test_overlapping_windows_and_touching_spans():
    ok = loads(BASE.replace('mon = ["00:00-24:00"]', 'mon = ["07:30-11:30", "11:30-17:00"]'))  # touching is fine
    assert len(ok.office.hours.mon) == 2
    got = issues_of(BASE.replace('sat = ["00:00-24:00"]', 'sat = ["08:00-12:00", "07:00-09:00"]'))
    assert len(got) == 1 and "office.hours.sat" in got[0] and "07:00-09:00" in got[0] and "overlap" in got[0]


def test_hub_default_is_the_real_upstream_and_simulator_warns(tmp_path):
    no_hub = BASE[: BASE.index("[hub]")]
    got = issues_of(no_hub)
    assert len(got) == 1 and got[0].startswith("office.toml: hub.adapter: "), got  # no line: [hub] is missing
    assert "base_url, username, password_file" in got[0]
    assert "enabled = false" in got[0]
    assert load_text(no_hub, simulate=True).hub.adapter == "simulator"  # --simulate needs no [hub]
    path = tmp_path / "small.toml"
    path.write_text(BASE, encoding="utf-8")
    r = motcua("config", "check", str(path))
    assert r.returncode == 0 and "OK" in r.stdout
    warned = [l for l in r.stderr.splitlines() if "CẢNH BÁO / WARNING" in l]
    assert any("devices[0].backend" in l and "printer-1" in l and "--simulate" in l for l in warned), r.stderr
    assert any("hub.adapter" in l and "hồ sơ bịa ra" in l and "invented dossiers" in l for l in warned), r.stderr
    quiet = motcua("config", "check", str(path), "--simulate")
    assert quiet.returncode == 0 and "WARNING" not in quiet.stderr and "simulated" in quiet.stdout


def load_text(text: str, simulate: bool = False):
    return loads(text, "office.toml", simulate)


def test_all_errors_even_when_fields_fail():
    """A cross-field error is not hidden behind a field error elsewhere, nor invented by it."""
    text = BASE.replace("daily_quota = 5", "daily_quota = 0").replace('services = ["KD", "DD"]', 'services = ["KD", "XX"]')
    got = issues_of(text)
    assert len(got) == 2 and any("daily_quota" in g and "từ 1 trở lên" in g for g in got), got
    assert any("counters[2].services[1]" in g for g in got), got
    # an invalid service still counts as known: no second, false "unknown service" error
    got = issues_of(BASE.replace('code = "KD"', 'code = "KD"\ncolour = "red"'))
    assert len(got) == 1 and "colour" in got[0], got
    # a service nobody serves is found beside a field error elsewhere
    got = issues_of(BASE.replace('services = ["KD", "DD"]', 'services = ["DD"]').replace('id = "TEST.01.H99"',
                                                                                      'id = "bad office!"'))
    assert len(got) == 2 and any("no counter serves 'KD'" in g for g in got), got


def test_device_rules_in_vietnamese_too():
    got = issues_of(BASE.replace('kind = "led"\ncounter = 1', 'kind = "led"\nbackend = "serial"\ncounter = 1'))
    assert len(got) == 1 and "devices[5]" in got[0] and "cần port" in got[0] and "needs `port`" in got[0], got


def test_simulate_keeps_a_test_gateway_only_when_asked():
    rest = BASE.replace('adapter = "simulator"', 'adapter = "rest"\nbase_url = "http://127.0.0.1:9"\n'
                        'username = "hub"\npassword_file = "/tmp/pw"')
    assert load_text(rest, simulate=True).hub.adapter == "simulator"  # never the real province by default
    kept = load_text(rest + '\n[simulation]\nupstream = "as_configured"\n', simulate=True)
    assert kept.hub.adapter == "rest" and kept.hub.base_url == "http://127.0.0.1:9"
