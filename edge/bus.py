"""The MQTT bus every daemon uses (paho-mqtt 2.x).

Subscriptions are made in on_connect so they return after a broker restart; retained
state this daemon owns is republished after every reconnect; a retained last will marks
the device offline; handlers run on one worker thread, isolated, so a bad message or a
bug in a handler is logged and the daemon goes on.
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import socket
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from pydantic import ValidationError
from paho.mqtt.enums import CallbackAPIVersion

from edge import protocol as P
from edge.broker import may_write
from edge.clock import Clock

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
RequestHandler = Callable[[Any], dict[str, Any]]
MAX_BACKLOG = 10000
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
PayloadT = TypeVar("PayloadT", bound=P.Payload)


@dataclass(frozen=True)
class BrokerURL:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr, a log or a traceback
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> "BrokerURL":
        """Parse `mqtt://[user:pass@]host:port` (or mqtts://)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r}: no host")
        return cls(parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None,
                   parts.scheme == "mqtts")

    def with_credentials(self, username: str, password: str) -> "BrokerURL":
        return BrokerURL(self.host, self.port, username, password, self.tls)

    def __str__(self) -> str:  # never shows the password
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


class RequestTimeout(Exception):
    """No reply came after every retry."""


class Bus:
    """One MQTT connection for one daemon (one device id)."""

    def __init__(self, broker: BrokerURL, topics: P.Topics, device: str, kind: str,
                 clock: Clock, *, keepalive: int = 15, persistent: bool = False) -> None:
        self.broker = broker
        self.topics = topics
        self.device = device
        self.kind = kind
        self.clock = clock
        # The broker makes the client id the username (use_username_as_clientid), so nobody can
        # take over another daemon's session; replies come on reply/<username>, which only
        # that user may read. A persistent session (clean_session off) makes the broker keep
        # QoS 1 messages for this daemon while it is down: for consumers that must not miss events.
        self.username = broker.username or device
        self.client_id = self.username
        # Request ids are unique per process: a restarted daemon never reuses an answered id.
        self._id_prefix = f"{_ID_UNSAFE.sub('.', self.username)[:40]}-{uuid.uuid4().hex[:6]}"
        self.connected = threading.Event()
        self._subs: dict[str, tuple[int, Handler, bool]] = {}
        self._retained: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._pending: dict[str, Future] = {}
        self._reply_topic = topics.reply(self.username)
        self._ids = itertools.count(1)
        self._work: queue.Queue[tuple[Handler, str, bytes] | None] = queue.Queue()
        self._on_connect_hooks: list[Callable[[], None]] = []
        self._status: dict[str, Any] | None = None
        self._stopping = False
        # paho races if another thread publishes while it (re)opens the socket: the PUBLISH can
        # reach the broker before CONNECT ("protocol error"). So publishes go to the client only
        # while the link is up; otherwise they wait here and are flushed after CONNACK.
        self._link_lock = threading.Lock()
        self._link_up = False
        self._backlog: list[tuple[str, bytes, int]] = []
        self._sub_mid: int | None = None
        self._sub_waits: dict[int, threading.Event] = {}
        self._acl: dict[str, list[str]] | None = None

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv311, clean_session=not persistent)
        if broker.username:
            c.username_pw_set(broker.username, broker.password)
        if broker.tls:
            c.tls_set()
        c.will_set(topics.device_status(device),
                   P.dumps({"device": device, "kind": kind, "online": False}), qos=1, retain=True)
        c.reconnect_delay_set(min_delay=0.2, max_delay=10)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(10000)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        c.on_socket_open = self._on_socket_open
        self._keepalive = keepalive
        self.client = c
        self._subs[self._reply_topic] = (1, self._on_reply, True)
        self._worker = threading.Thread(target=self._run_worker, name=f"bus-{device}", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self, wait: float | None = None) -> None:
        self._worker.start()
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self._keepalive)
        self.client.loop_start()
        self.client._thread.name = f"mqtt-{self.device}"  # named threads help py-spy and logs
        if wait is not None and not self.connected.wait(wait):
            log.warning("broker %s not reachable yet; retrying in the background", self.broker)

    def stop(self, offline: bool = True) -> None:
        """Disconnect cleanly; publishes the offline status first (a clean disconnect sends no will)."""
        self._stopping = True
        if offline and self.connected.is_set():
            info = self.client.publish(self.topics.device_status(self.device),
                                       P.dumps({"device": self.device, "kind": self.kind, "online": False,
                                                "ts": P.rfc3339(self.clock.now())}), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self._work.put(None)
        if self._worker.is_alive():
            self._worker.join(timeout=2)

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run `hook` (on the worker thread) after every successful (re)connect."""
        self._on_connect_hooks.append(hook)

    # ------------------------------------------------------------------ paho callbacks

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with self._link_lock:
            self._link_up = False
        # Nagle + delayed ACK cost tens of ms per loopback round trip (HARDWARE.md).
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.broker, reason)
            return
        with self._link_lock:
            with self._lock:
                subs = [(t, q) for t, (q, _, _) in self._subs.items()]
                retained = dict(self._retained)
            self._sub_mid = client.subscribe(subs)[1] if subs else None
            for topic, payload in retained.items():
                client.publish(topic, payload, qos=1, retain=True)
            backlog, self._backlog = self._backlog, []
            for topic, payload, qos in backlog:
                client.publish(topic, payload, qos=qos)
            self._link_up = True
        log.info("connected to %s as %s", self.broker, self.client_id)
        if self._sub_mid is None:
            self.connected.set()
        for hook in self._on_connect_hooks:
            self._work.put((lambda _t, _p, h=hook: h(), "", b""))

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        with self._lock:
            waiter = self._sub_waits.pop(mid, None)
        if waiter is not None:
            waiter.set()
        # `connected` means subscribed too: a request sent before SUBACK could find nobody listening.
        if mid == self._sub_mid:
            if any(getattr(r, "is_failure", False) for r in reasons):
                log.error("broker refused some subscriptions of %s: %s", self.client_id, reasons)
            self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._link_lock:
            self._link_up = False
        self.connected.clear()
        if not self._stopping:
            log.warning("disconnected from %s (%s); reconnecting", self.broker, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self._reply_topic:
            # Replies bypass the worker: a handler may be waiting on one right now.
            self._on_reply(msg.topic, bytes(msg.payload))
            return
        match = self._match(msg.topic)
        if match is None:
            return
        handler, inline = match
        if not inline:
            self._work.put((handler, msg.topic, bytes(msg.payload)))
            return
        try:
            handler(msg.topic, bytes(msg.payload))
        except Exception:
            log.exception("inline handler for %s failed on payload %r", msg.topic, bytes(msg.payload)[:200])

    def _match(self, topic: str) -> tuple[Handler, bool] | None:
        with self._lock:
            for pattern, (_, handler, inline) in self._subs.items():
                if mqtt.topic_matches_sub(pattern, topic):
                    return handler, inline
        return None

    def _run_worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            handler, topic, payload = item
            try:
                handler(topic, payload)
            except Exception:  # isolate: one bad message must not stop the daemon
                log.exception("handler for %s failed on payload %r", topic, payload[:200])

    # ------------------------------------------------------------------ publish / subscribe

    def subscribe(self, pattern: str, handler: Handler, qos: int = 1, *, inline: bool = False,
                  wait: float = 5.0) -> None:
        """Call handler(topic, payload) for each message matching `pattern`.

        Handlers run on the bus worker thread; `inline=True` runs them on the network thread
        instead (only for handlers that never block, such as handing work to another queue).
        On a live connection it returns once the broker acknowledged the subscription (at
        most `wait` s), so nothing published after it returns is missed; subscribing again
        to a pattern gets its retained messages again.
        """
        with self._lock:
            self._subs[pattern] = (qos, handler, inline)
        acked: threading.Event | None = None
        with self._link_lock:
            if self._link_up:
                acked = threading.Event()
                mid = self.client.subscribe(pattern, qos)[1]
                with self._lock:
                    self._sub_waits[mid] = acked
        if acked is not None and wait > 0 and threading.current_thread() is not self.client._thread:
            acked.wait(wait)

    def publish(self, topic: str, payload: dict[str, Any] | P.Payload | bytes, *,
                qos: int = 1, retain: bool = False) -> mqtt.MQTTMessageInfo | None:
        """Publish now, or after the next CONNACK if the link is down (held in memory only)."""
        data = payload if isinstance(payload, bytes) else P.dumps(payload)
        with self._link_lock:
            if retain:
                with self._lock:
                    self._retained[topic] = data
            if self._link_up:
                return self.client.publish(topic, data, qos=qos, retain=retain)
            if not retain:  # retained state is republished from _retained on connect
                if len(self._backlog) >= MAX_BACKLOG:
                    log.warning("broker unreachable: dropping the oldest of %d held messages", len(self._backlog))
                    del self._backlog[0]
                self._backlog.append((topic, data, qos))
            return None

    def set_status(self, state: str = "ok", detail: dict[str, Any] | None = None,
                   online: bool = True) -> None:
        """Publish this daemon's retained device status (only when it changed)."""
        status = {"device": self.device, "kind": self.kind, "online": online, "state": state,
                  "detail": detail or {}}
        if status == self._status:
            return
        self._status = status
        self.publish(self.topics.device_status(self.device),
                     {**status, "ts": P.rfc3339(self.clock.now())}, retain=True)

    def report_bad(self, topic: str, message: str, code: str = "bad_request") -> None:
        log.warning("bad payload on %s: %s", topic, message)
        self.publish(self.topics.error, P.ErrorEvent(topic=topic, code=code, message=message,
                                                      ts=P.rfc3339(self.clock.now())))

    # ------------------------------------------------------------------ serving requests

    def check_requesters(self, rules: dict[str, list[str]] | None) -> None:
        """Serve only requests whose reply_to belongs to a user the ACL lets send them.

        MQTT 3.1.1 does not say who published; the user level of the reply topic is the
        identity a responder can trust, because only that user can read it (ACL pattern
        reply/%u/#). So a reply_to naming a user who may not write the request topic is
        refused on the error topic, and nobody else's reply topic gets an answer.
        """
        self._acl = rules

    def requester(self, reply_to: str) -> str:
        """The user a reply topic belongs to: its first level under reply/."""
        return reply_to[len(self.topics.reply_prefix):].split("/", 1)[0]

    def _requester_ok(self, topic: str, reply_to: str) -> bool:
        if self._acl is None or may_write(self._acl, self.requester(reply_to), topic):
            return True
        self.report_bad(topic, f"reply_to {reply_to[:120]!r}: user {self.requester(reply_to)[:64]!r} "
                               f"may not send requests on this topic")
        return False

    def parse_request(self, topic: str, payload: bytes, model: type[P.Request]) -> P.Request | None:
        """Validate a request; answer or report what is wrong with it and return None."""
        try:
            req = P.parse_request(payload, model, self.topics.reply_prefix)
        except P.BadPayload as exc:
            self.report_bad(topic, str(exc))
        except P.RequestInvalid as exc:
            if self._requester_ok(topic, exc.reply_to):
                self.publish(exc.reply_to, P.error_reply(exc.req_id, "bad_request",
                                                         f"Yêu cầu không hợp lệ: {exc.message}"))
        else:
            return req if self._requester_ok(topic, req.reply_to) else None
        return None

    def parse_payload(self, topic: str, payload: bytes, model: type[PayloadT]) -> PayloadT | None:
        """A published payload (state, event) as `model`, or None after reporting what is
        wrong on the error topic: a bad message is never fatal to a subscriber."""
        try:
            return model.model_validate(P.decode_json(payload))
        except P.BadPayload as exc:
            self.report_bad(topic, str(exc))
        except ValidationError as exc:
            self.report_bad(topic, f"{model.__name__}: {P.describe_validation(exc)}")
        return None

    def serve(self, pattern: str, model: type[P.Request], handler: RequestHandler) -> None:
        """Answer requests on `pattern`: validate, call handler(request, topic), reply once."""

        def on_request(topic: str, payload: bytes) -> None:
            req = self.parse_request(topic, payload, model)
            if req is None:
                return
            try:
                reply = handler(req, topic)
            except Exception:
                log.exception("request %s on %s failed", req.id, topic)
                reply = P.error_reply(req.id, "internal")
            if reply is not None:
                self.publish(req.reply_to, reply)

        self.subscribe(pattern, on_request)

    # ------------------------------------------------------------------ making requests

    def new_id(self) -> str:
        return f"{self._id_prefix}:{next(self._ids)}"

    def request_async(self, topic: str, fields: dict[str, Any], req_id: str | None = None) -> tuple[str, Future]:
        req_id = req_id or self.new_id()
        fut: Future = Future()
        with self._lock:
            self._pending[req_id] = fut
        self.publish(topic, {**fields, "id": req_id, "reply_to": self._reply_topic})
        return req_id, fut

    def request(self, topic: str, fields: dict[str, Any], *, timeout: float = 2.0,
                retries: int = 3, req_id: str | None = None) -> dict[str, Any]:
        """Send a request and wait for its reply, retrying with the same id (idempotent)."""
        req_id = req_id or self.new_id()
        for attempt in range(retries + 1):
            _, fut = self.request_async(topic, fields, req_id)
            try:
                return fut.result(timeout=timeout)
            except TimeoutError:
                log.info("no reply to %s on %s (attempt %d); retrying", req_id, topic, attempt + 1)
            finally:
                with self._lock:
                    if self._pending.get(req_id) is fut:
                        del self._pending[req_id]
        raise RequestTimeout(f"no reply to {req_id} on {topic}")

    def _on_reply(self, topic: str, payload: bytes) -> None:
        try:
            data = P.decode_json(payload)
        except P.BadPayload as exc:
            log.warning("unreadable reply on %s: %s", topic, exc)
            return
        with self._lock:
            fut = self._pending.pop(str(data.get("id")), None)
        if fut is not None and not fut.done():
            fut.set_result(data)

    @property
    def reply_topic(self) -> str:
        return self._reply_topic


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def env_broker(default: str | None = None) -> str | None:
    return os.environ.get("MOTCUA_BROKER", default)
