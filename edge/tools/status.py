"""`motcua status CONFIG`: the office's queues, counters and device health, live in a terminal.

It only listens (as `admin`): retained queue/counter/device state and the ticket events,
so it can run next to a working office at any time. `--once` prints one snapshot (when
every retained message has arrived) and exits; `--reload` asks the engine to re-read
the config without losing the day's queue.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import protocol as P
from edge.bus import BrokerURL
from edge.clock import Clock
from edge.config import OfficeConfig
from edge.i18n import N_, t as translate

log = logging.getLogger(__name__)

#: The screen's words (catalogue msgids), by the key `render` uses.
LABELS = {
    "services": N_("DỊCH VỤ"), "open": N_("MỞ"), "waiting": N_("CHỜ"), "issued": N_("CẤP CUỐI"),
    "called": N_("GỌI CUỐI"), "wait": N_("ƯỚC CHỜ"), "counters": N_("QUẦY"), "devices": N_("THIẾT BỊ"),
    "recent": N_("GỌI GẦN ĐÂY"), "events": N_("SỰ KIỆN"), "yes": N_("có"), "no": N_("không"), "min": N_("phút"),
    "serving": N_("đang phục vụ"), "offline": N_("MẤT KẾT NỐI"), "unseen": N_("chưa thấy"),
    "no_queue": N_("(chưa có trạng thái hàng chờ)"), "broker_down": N_("!! Không kết nối được broker"),
    "day": N_("ngày"), "closed": N_("đóng"), "paused": N_("tạm dừng"), "opened": N_("mở"),
    "link": N_("KẾT NỐI TRUNG TÂM"), "link_up": N_("đã nối"), "link_down": N_("MẤT NỐI (tin nhắn đang chờ)"),
}


def labels(lang: str) -> dict[str, str]:
    """The screen's words in `lang`, from the catalogue (the office's own wording included)."""
    return {key: translate(msgid, lang) for key, msgid in LABELS.items()} | {"nobody": "—"}


#: Mosquitto publishes each bridge's state here ("1" up, "0" down), retained.
BRIDGE_STATE = "$SYS/broker/connection/+/state"
COLORS = {"ok": "\x1b[32m", "warning": "\x1b[33m", "error": "\x1b[31m", "offline": "\x1b[31;1m",
          "unseen": "\x1b[2m", "reset": "\x1b[0m"}


@dataclass
class OfficeView:
    """What the status screen knows, built only from the office's MQTT traffic."""

    cfg: OfficeConfig
    queue: dict[str, Any] | None = None
    counters: dict[int, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: deque = field(default_factory=lambda: deque(maxlen=8))
    links: dict[str, bool] = field(default_factory=dict)
    connected: bool = False

    def __post_init__(self) -> None:
        self.topics = P.Topics(self.cfg.office.id)

    @property
    def subscriptions(self) -> list[str]:
        t = self.topics
        return [t.queue_state, t.counter_state_all, t.device_status_all, t.ticket_event_all, t.error, BRIDGE_STATE]

    def handle(self, topic: str, payload: bytes) -> bool:
        """Fold one message into the view; False when it was not for us or unreadable."""
        if mqtt.topic_matches_sub(BRIDGE_STATE, topic):
            self.links[topic.split("/")[3]] = payload.strip() == b"1"
            return True
        try:
            data = P.decode_json(payload) if payload else None
        except P.BadPayload as exc:
            log.debug("unreadable message on %s: %s", topic, exc)
            return False
        t = self.topics
        if topic == t.queue_state:
            self.queue = data
        elif mqtt.topic_matches_sub(t.counter_state_all, topic):
            number = t.counter_from_topic(topic)
            if number is None or not number.isdigit():
                return False
            if data is None:
                self.counters.pop(int(number), None)
            else:
                self.counters[int(number)] = data
        elif mqtt.topic_matches_sub(t.device_status_all, topic):
            device = topic.split("/")[-2]
            if data is None:
                self.devices.pop(device, None)
            else:
                self.devices[device] = data
        elif mqtt.topic_matches_sub(t.ticket_event_all, topic) and data:
            ticket = data.get("ticket") or {}
            where = f" → {data.get('counter_name') or data.get('counter')}" if data.get("counter") else ""
            self.events.appendleft(f"{_hms(data.get('ts'))} {t.last_level(topic)} {ticket.get('number', '?')}"
                                   f" ({ticket.get('service', '?')}){where}")
        elif topic == t.error and data:
            self.events.appendleft(f"{_hms(data.get('ts'))} error {data.get('code')}: {data.get('message')}"
                                   f" [{data.get('topic')}]")
        else:
            return False
        return True

    def device_rows(self) -> list[tuple[str, str, str, str]]:
        """(id, kind, state, detail) for the service daemons, every configured device, and strangers."""
        known = [("engine", "engine")] + ([("hub", "hub")] if self.cfg.hub.enabled else [])
        known += [(d.id, d.kind) for d in self.cfg.devices if d.enabled]
        rows = []
        for dev, kind in known + [(d, s.get("kind") or "?") for d, s in sorted(self.devices.items())
                                  if d not in {k for k, _ in known}]:
            s = self.devices.get(dev)
            if s is None:
                rows.append((dev, kind, "unseen", ""))
            elif not s.get("online", False):
                rows.append((dev, kind, "offline", _hms(s.get("ts"))))
            else:
                detail = ", ".join(f"{k}: {v}" for k, v in (s.get("detail") or {}).items())
                rows.append((dev, kind, s.get("state") or "ok", detail))
        return rows


def _hms(ts: Any) -> str:
    return ts[11:19] if isinstance(ts, str) and len(ts) >= 19 else "--:--:--"


def _cut(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(view: OfficeView, now: str, lang: str = "vi", color: bool = False) -> str:
    L = labels(lang)
    cfg = view.cfg

    def paint(state: str, text: str) -> str:
        return f"{COLORS[state]}{text}{COLORS['reset']}" if color and state in COLORS else text

    lines = [f"{cfg.office.name} ({cfg.office.id})   {now}"]
    if not view.connected:
        lines.append(paint("error", L["broker_down"]))
    q = view.queue
    lines.append("")
    if q is None:
        lines.append(f"{L['services']}  {L['no_queue']}")
    else:
        lines.append(f"{L['services']:30} {L['open']:6} {L['waiting']:>5}  {L['issued']:10} {L['called']:10} {L['wait']}"
                     f"   ({L['day']} {q.get('day', '?')})")
        for s in q.get("services", []):
            est = s.get("estimated_wait_s")
            est_txt = f"{round(est / 60)} {L['min']}" if isinstance(est, (int, float)) else "-"
            lines.append(f"{_cut(s.get('code', '?') + ' ' + s.get('name', ''), 30):30} "
                         f"{L['yes'] if s.get('open') else L['no']:6} {s.get('waiting', 0):>5}  "
                         f"{s.get('last_issued') or '-':10} {s.get('last_called') or '-':10} {est_txt}")
    lines.append("")
    lines.append(L["counters"])
    for c in cfg.counters:
        st = view.counters.get(c.number)
        if st is None:
            lines.append(f"  {_cut(c.label, 22):22} {paint('unseen', L['unseen'])}")
            continue
        status = st.get("status", "?")
        label = {"open": L["opened"], "closed": L["closed"], "paused": L["paused"]}.get(status, status)
        serving = st.get("serving")
        what = f"{L['serving']} {serving['number']} ({serving.get('service', '')})" if serving else L["nobody"]
        lines.append(f"  {_cut(st.get('name') or c.label, 22):22} "
                     f"{paint('ok' if status == 'open' else 'warning', f'{label:10}')} "
                     f"{_cut(st.get('staff') or '', 22):22} {what}")
    lines.append("")
    lines.append(L["devices"])
    for dev, kind, state, detail in view.device_rows():
        word = {"offline": L["offline"], "unseen": L["unseen"]}.get(state, state)
        lines.append(f"  {_cut(dev, 16):16} {kind:8} {paint(state, f'{word:12}')} {_cut(detail, 60)}")
    if q and q.get("recent_calls"):
        lines.append("")
        calls = ", ".join(f"{r['number']} → {r.get('counter_name') or r.get('counter')} ({_hms(r.get('ts'))})"
                          for r in q["recent_calls"][:5])
        lines.append(f"{L['recent']}: {calls}")
    if view.links:
        lines.append("")
        for name, up in sorted(view.links.items()):
            lines.append(f"{L['link']}: {name} {paint('ok' if up else 'error', L['link_up'] if up else L['link_down'])}")
    if view.events:
        lines.append("")
        lines.append(L["events"])
        lines.extend(f"  {e}" for e in view.events)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ MQTT


class StatusClient:
    """A read-only admin connection feeding an OfficeView; `synced` is set once retained state is in."""

    def __init__(self, view: OfficeView, url: BrokerURL) -> None:
        self.view = view
        self.url = url
        self.changed = threading.Condition()
        self.synced = threading.Event()
        self.refused: str | None = None
        self._marker = f"{view.topics.reply_prefix}{url.username or 'admin'}/status-{uuid.uuid4().hex[:10]}"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"admin-status-{uuid.uuid4().hex[:6]}",
                        protocol=mqtt.MQTTv311, clean_session=True)
        if url.username:
            c.username_pw_set(url.username, url.password)
        if url.tls:
            c.tls_set()
        c.reconnect_delay_set(min_delay=0.5, max_delay=5)
        c.on_connect, c.on_disconnect, c.on_message = self._on_connect, self._on_disconnect, self._on_message
        self.client = c

    def start(self) -> None:
        self.client.connect_async(self.url.host, self.url.port, keepalive=15)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _poke(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            self._poke()
            return
        self.view.connected = True
        client.subscribe([(t, 1) for t in self.view.subscriptions] + [(self._marker, 1)])
        # The broker handles our packets in order: once this marker comes back, every retained
        # message of the subscriptions above has been delivered.
        client.publish(self._marker, b"{}", qos=1)
        self._poke()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.view.connected = False
        self._poke()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self._marker:
            self.synced.set()
        elif not self.view.handle(msg.topic, bytes(msg.payload)):
            return
        self._poke()


def broker_url(cfg: OfficeConfig, broker: str | None, data: str | None) -> BrokerURL:
    """The broker URL with the admin credential (from the URL, or DATA/broker/credentials.json)."""
    import os
    from pathlib import Path

    from edge.broker import load_credentials
    from edge.daemon import default_data_dir, env_password
    raw = broker or os.environ.get("MOTCUA_BROKER")
    url = BrokerURL.parse(raw) if raw else BrokerURL(cfg.broker.host, cfg.broker.port, tls=cfg.broker.tls)
    if url.username is not None and url.password is None:
        secret = env_password()
        if secret is not None:
            url = url.with_credentials(url.username, secret)
    if url.username is None:
        creds = load_credentials(Path(data) if data else default_data_dir())
        if "admin" not in creds:
            raise ValueError("no admin credential: pass --data (the office's data folder, e.g. /var/lib/motcua) "
                             "or --broker mqtt://admin:PASSWORD@host:port")
        url = url.with_credentials("admin", creds["admin"])
    return url


def reload_engine(cfg: OfficeConfig, config_path: str, url: BrokerURL, timeout: float) -> int:
    """Ask the running engine to re-read its config file (admin/engine action reload)."""
    from edge.bus import Bus, RequestTimeout
    bus = Bus(url, P.Topics(cfg.office.id), f"admin-reload-{uuid.uuid4().hex[:6]}", "engine", Clock(cfg.office.tz))
    bus.client.will_clear()  # a one-shot request: no presence of its own on the device topics
    bus.start(wait=timeout)
    try:
        reply = bus.request(bus.topics.engine_admin, {"action": "reload"}, timeout=timeout / 4, retries=3)
    except RequestTimeout:
        print("motcua status --reload: the engine did not answer; is motcua-engine running?", file=sys.stderr)
        return 1
    finally:
        bus.stop(offline=False)
    if reply.get("ok"):
        print(f"engine reloaded {reply.get('reloaded', config_path)}; the day's queue is kept")
        return 0
    err = reply.get("error") or {}
    print(f"motcua status --reload: {err.get('code')}: {err.get('message')}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua status",
                                 description="Live view of the office: queues, counters, every device's health.")
    ap.add_argument("config", help="office TOML file")
    ap.add_argument("--once", action="store_true", help="print one snapshot and exit")
    ap.add_argument("--json", action="store_true", help="with --once: the snapshot as JSON")
    ap.add_argument("--reload", action="store_true",
                    help="check the config, then ask the engine to reload it (the queue is kept)")
    ap.add_argument("--broker", default=None, help="mqtt://[admin:PASSWORD@]host:port (default: the config's)")
    ap.add_argument("--data", default=None, help="data folder with broker/credentials.json (default MOTCUA_DATA)")
    ap.add_argument("--lang", choices=("vi", "en"), default=None, help="language (default: the office's locale)")
    ap.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="ANSI colours")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker")
    return ap


def cli_main(argv: list[str]) -> int:
    from edge.tools import load_config
    args = build_parser().parse_args(argv)
    cfg = load_config(args.config, "motcua status")
    if cfg is None:
        return 1
    try:
        url = broker_url(cfg, args.broker, args.data)
    except ValueError as exc:
        print(f"motcua status: {exc}", file=sys.stderr)
        return 2
    if args.reload:
        return reload_engine(cfg, args.config, url, args.timeout)
    lang = args.lang or cfg.office.locale
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not args.once)
    clock = Clock(cfg.office.tz)
    view = OfficeView(cfg)
    client = StatusClient(view, url)
    client.start()
    try:
        if args.once:
            if not client.synced.wait(args.timeout):
                why = f"refused: {client.refused}" if client.refused else "no answer"
                print(f"motcua status: broker {url} {why}", file=sys.stderr)
                return 1
            if args.json:
                print(json.dumps({"queue": view.queue, "counters": view.counters, "devices": view.devices,
                                  "links": view.links, "events": list(view.events)}, ensure_ascii=False, indent=1))
            else:
                sys.stdout.write(render(view, P.rfc3339(clock.now()), lang, color))
            return 0
        return _live(view, client, clock, lang, color)
    finally:
        client.stop()


def _live(view: OfficeView, client: StatusClient, clock: Clock, lang: str, color: bool) -> int:
    """Redraw on every change (at most 5 times a second) and every second for the clock."""
    try:
        while True:
            with client.changed:
                client.changed.wait(1.0)
            sys.stdout.write("\x1b[H\x1b[2J" + render(view, P.rfc3339(clock.now()), lang, color))
            sys.stdout.flush()
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0
