"""`motcua central`'s ingest: the province broker's office traffic into PostgreSQL, losing nothing.

A persistent MQTT session (fixed client id, clean_session off) with QoS 1 subscriptions makes
the broker keep every event for us while we are down. Messages are acknowledged by hand
(paho's manual_ack) and only after the batch that holds them is committed, so a crash before
COMMIT gets them delivered again, and the store's keys make that second delivery harmless.
"""
from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.config import CentralConfig
from central.store import CentralStore, Message

log = logging.getLogger(__name__)

#: What the province keeps of each office (requests and replies stay in the office).
SUBSCRIPTIONS = (
    "motcua/v1/+/event/#",
    "motcua/v1/+/counter/+/state",
    "motcua/v1/+/queue/state",
    "motcua/v1/+/device/+/status",
    "motcua/v1/+/office/info",
    "motcua/v1/+/display/notice",
    "$SYS/broker/connection/+/state",
)


@dataclass
class IngestStats:
    received: int = 0
    stored_batches: int = 0
    stored_messages: int = 0
    skipped: int = 0
    db_errors: int = 0
    last_lag_s: float | None = None


class Ingest:
    """Consumes the province broker and writes batches; `healthy()` for the daemon runner."""

    def __init__(self, cfg: CentralConfig, store: CentralStore) -> None:
        self.cfg = cfg
        self.store = store
        self.stats = IngestStats()
        self._inbox: queue.Queue[tuple[Message, int, int] | None] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        b = cfg.broker
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=b.client_id,
                                  protocol=mqtt.MQTTv311, clean_session=False, manual_ack=True)
        if b.username:
            password = Path(b.password_file).read_text(encoding="utf-8").strip() if b.password_file else None
            self.client.username_pw_set(b.username, password)
        if b.tls:
            self.client.tls_set(ca_certs=b.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(0.5, 30)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._writer = threading.Thread(target=self._write_loop, name="central-writer", daemon=True)

    def start(self) -> None:
        self.store.connect()
        if self.cfg.offices:
            self.store.register_offices((o.id, o.name) for o in self.cfg.offices)
        self._writer.start()
        self.client.connect_async(self.cfg.broker.host, self.cfg.broker.port, keepalive=self.cfg.broker.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        self._writer.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()

    def healthy(self) -> bool:
        return self._writer.is_alive()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # ---------------------------------------------------------------- paho callbacks

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("province broker refused the connection: %s", reason)
            return
        client.subscribe([(t, 1) for t in SUBSCRIPTIONS])
        log.info("connected to the province broker %s:%s (session present: %s)",
                 self.cfg.broker.host, self.cfg.broker.port, getattr(flags, "session_present", None))
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("lost the province broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats.received += 1
        self._inbox.put((Message(msg.topic, bytes(msg.payload), bool(msg.retain), bool(msg.dup)), msg.mid, msg.qos))

    # ---------------------------------------------------------------- the writer

    def _next_batch(self) -> list[tuple[Message, int, int]] | None:
        item = self._inbox.get()
        if item is None:
            return None
        batch = [item]
        deadline = time.monotonic() + self.cfg.database.batch_wait_ms / 1000
        while len(batch) < self.cfg.database.batch_max:
            left = deadline - time.monotonic()
            try:
                nxt = self._inbox.get(timeout=max(left, 0)) if left > 0 else self._inbox.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._inbox.put(None)
                break
            batch.append(nxt)
        return batch

    def _write_loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            delay = 0.5
            while True:
                try:
                    rows = self.store.write([m for m, _, _ in batch])
                    break
                except Exception as exc:  # the database went away: keep the batch, reconnect, retry
                    self.stats.db_errors += 1
                    log.error("central store write failed (%s); retrying in %.1f s", exc, delay)
                    if self._stop.wait(delay):
                        return  # unacknowledged: the broker delivers them again after our restart
                    delay = min(delay * 2, 30)
                    try:
                        self.store.close()
                        self.store.connect()
                    except Exception as again:
                        log.error("cannot reconnect to the central store: %s", again)
            # Only now, with the rows committed, tell the broker it may forget these messages.
            for _, mid, qos in batch:
                if qos > 0:
                    self.client.ack(mid, qos)
            redelivered = sum(1 for m, _, _ in batch if m.dup)
            log.debug("stored a batch of %d messages", len(batch))
            if redelivered:
                log.info("stored a batch of %d messages, %d of them delivered again after a restart",
                         len(batch), redelivered)
            self.stats.stored_batches += 1
            self.stats.stored_messages += len(batch)
            self.stats.skipped += rows.skipped
