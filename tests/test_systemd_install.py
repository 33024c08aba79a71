"""`motcua install` and the systemd/ folder: units written to a temp root and checked."""
from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge import cli
from edge.config import load
from edge.tools import install as I
from harness import SMALL, copy_config

VENV_BIN = str(Path(sys.prefix) / "bin" / "motcua")


def read_unit(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str  # keys are case-sensitive
    cp.read_string(path.read_text())
    return cp


def test_every_daemon_kind_has_a_hardened_notify_unit() -> None:
    kinds = [k for k in cli.DAEMONS if k not in cli.SERVICE_DAEMONS]
    assert sorted(kinds) == sorted(I.DEVICE_KINDS)
    files = [f"motcua-{k}@.service" for k in kinds] + ["motcua-engine.service", "motcua-hub.service",
                                                       "motcua-reports.service"]
    for name in files:
        u = read_unit(I.UNITS_DIR / name)
        s = u["Service"]
        assert s["Type"] == "notify", name
        assert s["WatchdogSec"] == "30s", name
        assert s["Restart"] == "on-failure", name
        assert s["User"] == "motcua" and s["NoNewPrivileges"] == "yes", name
        assert s["ProtectSystem"] == "strict" and s["CapabilityBoundingSet"] == "", name
        assert s["EnvironmentFile"] == "/etc/motcua/motcua.env", name
        assert u["Install"]["WantedBy"] == "motcua.target", name
        assert u["Unit"]["PartOf"] == "motcua.target", name
    broker = read_unit(I.UNITS_DIR / "motcua-broker.service")["Service"]
    assert broker["Type"] == "notify"  # motcua broker execs mosquitto, which notifies systemd itself


def test_device_units_open_only_their_devices() -> None:
    text = (I.UNITS_DIR / "motcua-led@.service").read_text()
    assert "SupplementaryGroups=dialout\n" in text
    assert "DeviceAllow=char-ttyUSB rw" in text and "char-video4linux" not in text
    assert "DevicePolicy=closed" in text
    engine = (I.UNITS_DIR / "motcua-engine.service").read_text()
    assert "PrivateDevices=yes" in engine and "SupplementaryGroups" not in engine


def test_unit_command_lines_parse_with_the_real_cli() -> None:
    """What ExecStart runs must be a valid `motcua` command line (no drift from edge/cli.py)."""
    parser = cli.build_parser()
    for path in I.UNITS_DIR.glob("motcua-*.service"):
        line = read_unit(path)["Service"]["ExecStart"]
        argv = shlex.split(line.replace("${MOTCUA_CONFIG}", "/etc/motcua/office.toml").replace("%i", "printer-1"))
        assert argv[0] == I.DEFAULT_BIN
        args = parser.parse_args(argv[1:])
        assert args.config == "/etc/motcua/office.toml", path.name


def test_plan_main_host_runs_services_and_local_devices() -> None:
    cfg = load(SMALL)
    plan = I.plan_units(cfg, "office-pc")
    names = [u.name for u in plan]
    assert names[:4] == ["motcua-broker.service", "motcua-engine.service", "motcua-reports.service",
                         "motcua-hub.service"]
    assert "motcua-printer@printer-1.service" in names and "motcua-camera@camera-1.service" in names
    assert len(names) == 4 + len(cfg.devices)
    only_devices = I.plan_units(cfg, "office-pc", role="devices")
    assert all(u.device for u in only_devices) and len(only_devices) == len(cfg.devices)


def test_plan_follows_device_hosts_and_broker_host(tmp_path: Path) -> None:
    path = copy_config(tmp_path, replace={
        'id = "kiosk-1"\nkind = "kiosk"': 'id = "kiosk-1"\nkind = "kiosk"\nhost = "kiosk-pi"',
        'id = "camera-1"\nkind = "camera"': 'id = "camera-1"\nkind = "camera"\nenabled = false',
        "[hub]": '[broker]\nhost = "office-pc"\n\n[hub]',
    })
    cfg = load(path)
    main = [u.name for u in I.plan_units(cfg, "office-pc")]
    assert "motcua-engine.service" in main
    assert "motcua-kiosk@kiosk-1.service" not in main
    assert "motcua-camera@camera-1.service" not in main  # disabled devices get no unit
    pi = [u.name for u in I.plan_units(cfg, "kiosk-pi")]
    assert "motcua-kiosk@kiosk-1.service" in pi
    assert "motcua-engine.service" not in pi and "motcua-broker.service" not in pi


def test_install_to_root_writes_units_env_udev_and_enables(tmp_path: Path) -> None:
    root = tmp_path / "root"
    res = I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN)
    sysd = root / "etc/systemd/system"
    printer = (sysd / "motcua-printer@.service").read_text()
    assert f"ExecStart={VENV_BIN} printer ${{MOTCUA_CONFIG}} --device %i" in printer
    assert I.DEFAULT_BIN not in printer
    env = (root / "etc/motcua/motcua.env").read_text()
    assert f"MOTCUA_CONFIG={SMALL.resolve()}\n" in env and "MOTCUA_DATA=/var/lib/motcua\n" in env
    link = sysd / "motcua.target.wants" / "motcua-printer@printer-1.service"
    assert link.is_symlink() and str(link.readlink()) == "/etc/systemd/system/motcua-printer@.service"
    assert (sysd / "multi-user.target.wants" / "motcua.target").is_symlink()
    assert (root / "etc/sysusers.d/motcua.conf").read_text().startswith("# systemd-sysusers")
    assert (root / "etc/udev/rules.d/70-motcua.rules").exists()
    assert res.commands == []  # a --root install runs nothing
    wanted = sorted(p.name for p in (sysd / "motcua.target.wants").iterdir())
    assert wanted == sorted(res.enabled)


def test_reinstall_after_config_change_disables_removed_devices(tmp_path: Path) -> None:
    root = tmp_path / "root"
    I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN)
    changed = copy_config(tmp_path, replace={'id = "camera-1"\nkind = "camera"':
                                             'id = "camera-1"\nkind = "camera"\nenabled = false'})
    res = I.install(load(changed), changed, root=root, host="office-pc", binary=VENV_BIN)
    assert res.disabled == ["motcua-camera@camera-1.service"]
    assert not (root / "etc/systemd/system/motcua.target.wants/motcua-camera@camera-1.service").exists()
    assert (root / "etc/systemd/system/motcua.target.wants/motcua-led@led-1.service").is_symlink()


def test_no_enable_writes_but_links_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    res = I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN, enable=False)
    assert res.enabled == []
    assert not (root / "etc/systemd/system/motcua.target.wants").exists()
    assert (root / "etc/systemd/system/motcua-engine.service").exists()


def test_office_udev_rules_name_usb_devices(tmp_path: Path) -> None:
    path = copy_config(tmp_path, replace={
        'id = "printer-1"\nkind = "printer"\nbackend = "virtual"':
            'id = "printer-1"\nkind = "printer"\nbackend = "usb"\nusb = "0416:5011"',
        'id = "scanner-1"\nkind = "scanner"\nbackend = "virtual"':
            'id = "scanner-1"\nkind = "scanner"\nbackend = "hid"\nusb = "05E0:1200"',
    })
    cfg = load(path)
    rules = I.office_udev_rules(cfg, I.plan_units(cfg, "office-pc"))
    assert ('ATTR{idVendor}=="0416", ATTR{idProduct}=="5011", GROUP="lp", MODE="0660", '
            'SYMLINK+="motcua/printer-1"') in rules
    assert 'ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1200"' in rules and 'SYMLINK+="motcua/scanner-1"' in rules
    # devices on another host get no rule here
    assert "motcua/scanner-1" not in I.office_udev_rules(cfg, I.plan_units(cfg, "x", role="main")[:3])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_written_units(tmp_path: Path) -> None:
    root = tmp_path / "root"
    I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN)
    sysd = root / "etc/systemd/system"
    files = [str(sysd / n) for n in sorted(p.name for p in sysd.glob("motcua-*.service"))]
    # templates are verified through an instance name, as systemd would load them
    inst = []
    for f in files:
        p = Path(f)
        if p.name.endswith("@.service"):
            q = p.with_name(p.name.replace("@.service", "@dev-1.service"))
            shutil.copy(p, q)
            inst.append(str(q))
        else:
            inst.append(f)
    out = subprocess.run(["systemd-analyze", "verify", *inst, str(sysd / "motcua.target")],
                         capture_output=True, text=True)
    problems = [l for l in out.stderr.splitlines() if "motcua" in l]
    assert out.returncode == 0 and not problems, out.stderr


def test_cli_install_root_and_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert I.cli_main([str(SMALL), "--root", str(root), "--host", "office-pc", "--bin", VENV_BIN]) == 0
    got = capsys.readouterr()
    assert "enabled motcua-engine.service" in got.out and "wrote " in got.out
    # the small office is a simulated one: install says so, loudly, for every virtual part
    assert "CẢNH BÁO" in got.err and "WARNING(S)" in got.err and "printer-1" in got.err
    assert "hub.adapter" in got.err and "invented dossiers" in got.err
    bad = copy_config(tmp_path, replace={'kind = "led"': 'kind = "led"\nbaud = 9600'})
    assert I.cli_main([str(bad), "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "baud: không có thiết lập" in err and "unknown setting" in err and "small.toml:" in err


def test_live_install_runs_sysusers_udev_and_systemctl(tmp_path: Path) -> None:
    """On a running systemd the same plan goes through the real tools (recorded here: no systemd in CI)."""
    root = tmp_path / "root"
    I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN, live=True, runner=lambda c: None)
    wants = root / "etc/systemd/system/motcua.target.wants"
    wants.mkdir(parents=True)
    (wants / "motcua-camera@old-cam.service").symlink_to("/etc/systemd/system/motcua-camera@.service")
    calls: list[list[str]] = []
    res = I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN, live=True, now=True,
                    runner=lambda c: calls.append(list(c)))
    assert calls[0] == ["systemd-sysusers", str(root / "etc/sysusers.d/motcua.conf")]
    assert calls[1] == ["udevadm", "control", "--reload-rules"]
    assert calls[2][:3] == ["udevadm", "trigger", "--action=add"] and "--subsystem-match=tty" in calls[2]
    assert calls[3] == ["systemctl", "daemon-reload"]
    assert calls[4] == ["systemctl", "disable", "--now", "motcua-camera@old-cam.service"]
    assert calls[5][:3] == ["systemctl", "enable", "motcua.target"] and calls[5][3:] == res.enabled
    assert calls[6] == ["systemctl", "restart", "motcua.target"]
    assert res.commands == calls


def test_device_host_gets_only_its_own_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from edge.broker import load_credentials
    path = copy_config(tmp_path, replace={
        'id = "kiosk-1"\nkind = "kiosk"': 'id = "kiosk-1"\nkind = "kiosk"\nhost = "kiosk-pi"',
        'id = "printer-1"\nkind = "printer"': 'id = "printer-1"\nkind = "printer"\nhost = "kiosk-pi"',
    })
    main_data = tmp_path / "main-data"
    creds = load_credentials(main_data, load(path))  # what the main host's broker generated
    src = main_data / "broker/credentials.json"
    root = tmp_path / "pi"
    # every 'local' device also runs on the Pi; the service accounts (admin, engine, hub) never do
    assert I.cli_main([str(path), "--root", str(root), "--host", "kiosk-pi", "--role", "devices",
                       "--bin", VENV_BIN, "--credentials", str(src)]) == 0
    written = root / "var/lib/motcua/broker/credentials.json"
    got = json.loads(written.read_text())
    assert got["kiosk-1"] == creds["kiosk-1"] and got["printer-1"] == creds["printer-1"]
    assert not {"admin", "engine", "hub", "simulator"} & got.keys()
    assert written.stat().st_mode & 0o777 == 0o600
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"kiosk-1": "x"}))
    assert I.cli_main([str(path), "--root", str(root), "--host", "kiosk-pi", "--role", "devices",
                       "--credentials", str(partial)]) == 1
    assert "no entry for" in capsys.readouterr().err
    # the main host keeps the broker's own full file: --credentials there is refused
    assert I.cli_main([str(path), "--root", str(root), "--host", "office-pc", "--credentials", str(src)]) == 1
    assert "for device hosts" in capsys.readouterr().err


def _offline_security_supported() -> bool:
    if shutil.which("systemd-analyze") is None:
        return False
    out = subprocess.run(["systemd-analyze", "security", "--help"], capture_output=True, text=True).stdout
    return "--offline" in out


@pytest.mark.skipif(not _offline_security_supported(), reason="systemd-analyze security --offline not available")
def test_every_unit_is_hardened_per_systemd_analyze(tmp_path: Path) -> None:
    """systemd's own exposure score (0 safest .. 10 unsafe) stays in its 'OK' band for every unit."""
    root = tmp_path / "root"
    I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN)
    sysd = root / "etc/systemd/system"
    scores = {}
    for unit in sorted(sysd.glob("motcua-*.service")):
        name = unit.name.replace("@.service", "@dev-1.service")
        if name != unit.name:
            shutil.copy(unit, sysd / name)
        out = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={root}", name],
                             capture_output=True, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout)
        assert m, out.stdout + out.stderr
        scores[name] = float(m.group(1))
    assert len(scores) == 13
    assert all(s <= 2.5 for s in scores.values()), scores


def exec_start(unit: Path, env: dict[str, str], instance: str | None = None) -> list[str]:
    """ExecStart= as systemd would run it: ${VAR} from the environment, %i the instance."""
    line = read_unit(unit)["Service"]["ExecStart"]
    argv = shlex.split(line.replace("%i", instance or ""))
    return [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a) for a in argv]


def env_file_vars(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("unit,instance", [("motcua-engine.service", None), ("motcua-led@.service", "led-1")])
def test_installed_unit_command_starts_the_daemon_like_systemd(office, tmp_path: Path, unit: str,
                                                               instance: str | None) -> None:
    """Run the installed unit's command with its EnvironmentFile, NOTIFY_SOCKET and WATCHDOG_USEC:
    the daemon must report READY=1, keep the watchdog fed, and stop cleanly on SIGTERM."""
    import os
    import signal
    import socket
    import time
    root = tmp_path / "root"
    I.install(load(SMALL), SMALL, root=root, host="office-pc", binary=VENV_BIN)
    env = {**os.environ, **env_file_vars(root / "etc/motcua/motcua.env")}
    assert env["MOTCUA_CONFIG"] == str(SMALL.resolve())
    env["MOTCUA_DATA"] = str(office.data)  # the test broker's credentials, instead of /var/lib/motcua
    env["MOTCUA_BROKER"] = f"mqtt://127.0.0.1:{office.port}"
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(20)
    env.update(NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    argv = exec_start(root / "etc/systemd/system" / unit, env, instance)
    assert argv[0] == VENV_BIN
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    got: list[str] = []
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not ("READY=1" in got and got.count("WATCHDOG=1") >= 2):
            got.append(sock.recv(4096).decode())
        assert "READY=1" in got and got.count("WATCHDOG=1") >= 2, got
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
        sock.close()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 0, err


def test_province_example_splits_across_its_hosts() -> None:
    """The provincial example is one main PC, a PC per floor and a small PC per counter."""
    prov = load(Path(__file__).resolve().parents[1] / "config/examples/province.toml")
    main = [u.name for u in I.plan_units(prov, "ttpvhcc-chinh")]
    assert main[:4] == ["motcua-broker.service", "motcua-engine.service", "motcua-reports.service",
                        "motcua-hub.service"]
    assert sum(n.startswith("motcua-led@") for n in main) == 40 and "motcua-kiosk@kiosk-1.service" in main
    assert not any(n.startswith(("motcua-keypad@", "motcua-tablet@", "motcua-voice@")) for n in main)
    assert [u.name for u in I.plan_units(prov, "quay-d03")] == ["motcua-keypad@keypad-25.service",
                                                                 "motcua-tablet@tablet-25.service"]
    assert [u.name for u in I.plan_units(prov, "tang-2")] == ["motcua-display@display-2.service",
                                                               "motcua-voice@voice-2.service"]


def test_small_box_install_shares_one_process_for_headless_devices_and_one_for_hub_and_reports(tmp_path: Path) -> None:
    """--small-box: what `motcua run` does on one box, as systemd units (edge/grouping.py)."""
    cfg = load(SMALL)
    plan = I.plan_units(cfg, "office-pc", small_box=True)
    names = [u.name for u in plan]
    headless = [d.id for d in cfg.devices if d.kind in ("led", "keypad", "scanner", "printer", "voice")
                and not (d.kind == "keypad" and d.backend == "screen")]
    devices = next(u for u in plan if u.name == "motcua-devices.service")
    assert list(devices.members) == headless and len(headless) >= 4
    assert not any(f"@{d}.service" in n for n in names for d in headless)  # no unit of their own
    services = next(u for u in plan if u.name == "motcua-services.service")
    assert set(services.members) == {"hub", "reports"}
    assert "motcua-hub.service" not in names and "motcua-reports.service" not in names
    assert "motcua-engine.service" in names and "motcua-kiosk@kiosk-1.service" in names  # screens alone

    root = tmp_path / "root"
    creds = {u: "x" for u in ["engine", "hub", "reports"] + [d.id for d in cfg.devices]}
    I.install(cfg, SMALL, root=root, host="office-pc", binary=VENV_BIN, small_box=True, role="devices",
              credentials=creds)
    env = (root / "etc/motcua/motcua.env").read_text()
    assert f"MOTCUA_DEVICES={','.join(headless)}\n" in env
    got = json.loads((root / "var/lib/motcua/broker/credentials.json").read_text())
    assert set(headless) <= set(got) and "hub" not in got  # a device host holds only its devices' passwords
    unit = read_unit(root / "etc/systemd/system/motcua-devices.service")["Service"]
    argv = shlex.split(unit["ExecStart"].replace("${MOTCUA_CONFIG}", str(SMALL))
                       .replace("${MOTCUA_DEVICES}", ",".join(headless)))
    args = cli.build_parser().parse_args(argv[1:])
    assert args.cmd == "group" and args.device.split(",") == headless
    # the union of the members' device rights, nothing of a screen's
    text = (root / "etc/systemd/system/motcua-devices.service").read_text()
    for dev in ("char-ttyUSB", "char-input", "char-usb_device", "char-alsa"):
        assert f"DeviceAllow={dev} rw" in text, dev
    assert "char-drm" not in text
    if shutil.which("systemd-analyze"):
        out = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={root}",
                              "motcua-devices.service"], capture_output=True, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout)
        assert m and float(m.group(1)) <= 2.5, out.stdout[-500:] + out.stderr
