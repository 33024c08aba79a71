"""The hub with `adapter = "rest"` against a separate simulator over HTTPS, in a renamed dialect.

The certificate is self-signed (made with the openssl binary), trusted through `ca_file`;
without it the hub refuses the gateway, which proves verification is on.
"""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from harness import TestOffice, copy_config

from edge.bus import wait_until
from hub.daemon import HubDaemon
from hub.simulator import SimulatorServer, Upstream
from hub.upstream import RestAdapter, UpstreamDown

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")

FIELDS = {"MaHoSo": "SoHoSo", "TrangThaiHoSo": "TrangThai", "NgayCapNhat": "ThoiGianCapNhat", "DanhSach": "Data"}
SERVICES = {"LayDanhSachHoSoCapNhat": "GetChangedDossiers", "TraCuuHoSo": "LookupDossier"}


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def gateway(cert: tuple[Path, Path]) -> Iterator[SimulatorServer]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    up = Upstream(150, seed=11, agency="000.17.22.H56", username="motcua-h56", password="mật-khẩu-9")
    up.field_names, up.service_names = dict(FIELDS), dict(SERVICES)
    s = SimulatorServer(up, tls=ctx).start()
    yield s
    s.stop()


def rest_office(tmp_path: Path, gateway: SimulatorServer, ca: Path | None) -> TestOffice:
    pw = tmp_path / "hub-password"
    pw.write_text("mật-khẩu-9\n", encoding="utf-8")
    pw.chmod(0o600)
    fields = ", ".join(f'{k} = "{v}"' for k, v in FIELDS.items())
    services = ", ".join(f'{k} = "{v}"' for k, v in SERVICES.items())
    block = (f'adapter = "rest"\nbase_url = "{gateway.url}"\nusername = "motcua-h56"\npassword_file = "{pw}"\n'
             f'dstcode = "000.17.22.H56"\nmadonvi = "000.17.22.H56"\nfield_map = {{ {fields} }}\n'
             f'service_names = {{ {services} }}\nsync_interval_s = 3600\ntimeout_s = 2\n'
             + (f'ca_file = "{ca}"\n' if ca else ""))
    cfg = copy_config(tmp_path, replace={'adapter = "simulator"\nsimulator_dossiers = 200': block})
    return TestOffice(tmp_path / "data", cfg).start()


def test_rest_adapter_over_https_with_a_renamed_dialect(tmp_path: Path, gateway: SimulatorServer,
                                                          cert: tuple[Path, Path]) -> None:
    office = rest_office(tmp_path, gateway, cert[0])
    hub = HubDaemon(office.ctx("hub", "hub"), backoff_base=0.05)
    try:
        hub.start()
        assert hub.simulator is None
        assert wait_until(lambda: hub.sync.runs >= 1, 15)
        assert hub.store.all_versions() == gateway.upstream.versions()
        client = office.client("admin")
        code = next(iter(gateway.upstream.records))
        rep = client.request(office.topics.dossier_lookup, {"code": code}, timeout=5)
        assert rep["ok"] and rep["dossier"]["code"] == code
        # error_code 2 on the sync: the hub's device status says error, with the detail
        seen: list[dict[str, Any]] = []
        client.subscribe(office.topics.device_status("hub"), lambda t, p: seen.append(json.loads(p)))
        gateway.upstream.faults.invalid_services = ("LayDanhSachHoSoCapNhat",)
        client.request(office.topics.hub_admin, {"action": "sync"}, timeout=5)
        assert wait_until(lambda: seen and seen[-1].get("state") == "error", 10), seen
        assert seen[-1]["detail"]["upstream"] == "invalid_request"
        gateway.upstream.faults.invalid_services = ()
        client.request(office.topics.hub_admin, {"action": "sync"}, timeout=5)
        assert wait_until(lambda: seen[-1].get("state") == "ok", 10), seen[-1]
        # the password file goes missing: the next login fails clearly, lookups still answer
        (tmp_path / "hub-password").unlink()
        gateway.upstream.sessions.clear()          # force a new login
        client.request(office.topics.hub_admin, {"action": "sync"}, timeout=5)
        assert wait_until(lambda: seen[-1].get("state") == "error", 10), seen[-1]
        assert "password file" in seen[-1]["detail"]["error"]
        rep = client.request(office.topics.dossier_lookup, {"code": code}, timeout=5)
        assert rep["ok"] and rep["dossier"]["code"] == code
    finally:
        hub.stop()
        office.close()


def test_untrusted_certificate_is_refused(gateway: SimulatorServer) -> None:
    up = gateway.upstream
    adapter = RestAdapter(gateway.url, username=up.username, password=up.password, madonvi="H56", timeout=2,
                          field_map=FIELDS, service_names=SERVICES)
    with pytest.raises(UpstreamDown, match="CERTIFICATE_VERIFY_FAILED"):
        adapter.changed_since("00000000000000", 1, 10)
