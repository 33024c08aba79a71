"""The office's people: staff accounts in DATA/staff/staff.db, and `motcua staff ...`.

Passwords and keypad PINs are stored only as argon2id hashes (argon2-cffi) and never
logged. Failed sign-ins are counted in the same file, so a lockout holds across restarts
and across the daemons that check sign-ins (web console: password; engine: keypad code +
PIN). Clerks may open only the counters listed on their account; managers and
technicians any counter.
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)

ROLES = ("clerk", "manager", "technician")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
CODE_RE = re.compile(r"^[0-9]{2,6}$")
PIN_RE = re.compile(r"^[0-9]{4,8}$")
MAX_FAILURES = 5
LOCKOUT_S = 300
MIN_PASSWORD = 8

#: Argon2id with a modest memory cost: an office PC verifies a sign-in in tens of ms.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class StaffError(ValueError):
    """A refused change to the staff store, with a message for the technician."""


class Locked(Exception):
    """Too many failed sign-ins: try again after `seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"locked for {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Staff:
    login: str
    name: str
    role: str
    counters: tuple[int, ...]
    code: str | None
    disabled: bool

    def may_open(self, counter: int) -> bool:
        return not self.disabled and (self.role != "clerk" or counter in self.counters)

    def public(self) -> dict[str, object]:
        return {"login": self.login, "name": self.name, "role": self.role,
                "counters": list(self.counters), "code": self.code, "disabled": self.disabled}


def store_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / "staff" / "staff.db"


# ---------------------------------------------------------------------- signed clerk claims
#
# The web console signs in clerks by password, then names them in counter commands
# (`staff_login`). A device credential may also publish counter commands, so the engine
# believes a `staff_login` only with `staff_sig`: an HMAC, with a key only the main host's
# daemons can read (DATA/staff/claim.key), over the request id, the counter, the login and
# the time (`staff_ts`). A captured command replayed within CLAIM_TTL_S gets its stored
# reply (request ids are idempotent for 24 h); later it is refused.

CLAIM_TTL_S = 600


def claim_key_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / "staff" / "claim.key"


def claim_key(data_dir: Path | str, *, create: bool = False) -> bytes | None:
    """The claim signing key; made once (0600) by the web daemon when `create`."""
    path = claim_key_path(data_dir)
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip() or None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return path.read_bytes().strip() or None


def sign_claim(key: bytes, req_id: str, counter: int, login: str, ts: int) -> str:
    msg = f"{req_id}|{counter}|{login}|{ts}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def claim_ok(key: bytes, req_id: str, counter: int, login: str, ts: int | None, sig: str | None,
             now: float | None = None) -> bool:
    if ts is None or not sig:
        return False
    if abs((time.time() if now is None else now) - ts) > CLAIM_TTL_S:
        return False
    return hmac.compare_digest(sign_claim(key, req_id, counter, login, ts), sig)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def _check(stored: str | None, secret: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class StaffStore:
    """One SQLite file (WAL); safe to open from several daemons on the main host."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no staff store (create the first account with `motcua staff add`)")
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        if create:
            os.chmod(self.path, 0o600)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS staff (login TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "role TEXT NOT NULL, counters TEXT NOT NULL DEFAULT '[]', code TEXT UNIQUE, "
            "password TEXT, pin TEXT, disabled INTEGER NOT NULL DEFAULT 0, "
            "failures INTEGER NOT NULL DEFAULT 0, locked_until REAL NOT NULL DEFAULT 0, "
            "created REAL NOT NULL, updated REAL NOT NULL)")

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _row(r: sqlite3.Row) -> Staff:
        return Staff(r["login"], r["name"], r["role"], tuple(json.loads(r["counters"])), r["code"],
                     bool(r["disabled"]))

    def get(self, login: str) -> Staff | None:
        r = self.conn.execute("SELECT * FROM staff WHERE login = ?", (login.strip().lower(),)).fetchone()
        return self._row(r) if r else None

    def by_code(self, code: str) -> Staff | None:
        r = self.conn.execute("SELECT * FROM staff WHERE code = ?", (code,)).fetchone()
        return self._row(r) if r else None

    def all(self) -> list[Staff]:
        return [self._row(r) for r in self.conn.execute("SELECT * FROM staff ORDER BY login")]

    def __iter__(self) -> Iterator[Staff]:
        return iter(self.all())

    # ------------------------------------------------------------------ changing

    def add(self, login: str, name: str, role: str, password: str, *, counters: list[int] | None = None,
            code: str | None = None, pin: str | None = None) -> Staff:
        login = login.strip().lower()
        name = unicodedata.normalize("NFC", name.strip())
        if not LOGIN_RE.match(login):
            raise StaffError(f"login {login!r}: 2-32 characters of a-z 0-9 . _ - (starting with a letter or digit)")
        if not name or len(name) > 100:
            raise StaffError("the full name must be 1-100 characters")
        if role not in ROLES:
            raise StaffError(f"role {role!r}: one of {', '.join(ROLES)}")
        _password_ok(password)
        if code is not None and not CODE_RE.match(code):
            raise StaffError(f"staff code {code!r}: 2-6 digits")
        if pin is not None and not PIN_RE.match(pin):
            raise StaffError("PIN: 4-8 digits")
        if (code is None) != (pin is None):
            raise StaffError("a keypad sign-in needs both --code and a PIN")
        if self.get(login) is not None:
            raise StaffError(f"login {login!r} already exists")
        if code is not None and self.by_code(code) is not None:
            raise StaffError(f"staff code {code} is already someone else's")
        now = time.time()
        self.conn.execute(
            "INSERT INTO staff(login, name, role, counters, code, password, pin, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (login, name, role, json.dumps(sorted(set(counters or []))), code, hash_secret(password),
             hash_secret(pin) if pin else None, now, now))
        log.info("staff account %s (%s) added", login, role)
        return self.get(login)  # type: ignore[return-value]

    def _update(self, login: str, sql: str, args: tuple) -> Staff:
        cur = self.conn.execute(f"UPDATE staff SET {sql}, updated = ? WHERE login = ?",
                                (*args, time.time(), login.strip().lower()))
        if cur.rowcount == 0:
            raise StaffError(f"no staff account {login!r}")
        return self.get(login)  # type: ignore[return-value]

    def set_disabled(self, login: str, disabled: bool) -> Staff:
        return self._update(login, "disabled = ?", (int(disabled),))

    def set_password(self, login: str, password: str) -> Staff:
        _password_ok(password)
        return self._update(login, "password = ?, failures = 0, locked_until = 0", (hash_secret(password),))

    def set_pin(self, login: str, code: str, pin: str) -> Staff:
        if not CODE_RE.match(code):
            raise StaffError(f"staff code {code!r}: 2-6 digits")
        if not PIN_RE.match(pin):
            raise StaffError("PIN: 4-8 digits")
        other = self.by_code(code)
        if other is not None and other.login != login.strip().lower():
            raise StaffError(f"staff code {code} is already {other.login}'s")
        return self._update(login, "code = ?, pin = ?, failures = 0, locked_until = 0", (code, hash_secret(pin)))

    def set_counters(self, login: str, counters: list[int]) -> Staff:
        return self._update(login, "counters = ?", (json.dumps(sorted(set(counters))),))

    def unlock(self, login: str) -> Staff:
        return self._update(login, "failures = 0, locked_until = 0", ())

    # ------------------------------------------------------------------ signing in

    def _attempt(self, row: sqlite3.Row | None, secret: str, column: str, now: float) -> Staff | None:
        if row is None:
            _hasher.hash(secret)  # the same cost as a real check: no timing hint of which logins exist
            return None
        if row["locked_until"] > now:
            raise Locked(int(row["locked_until"] - now) + 1)
        if _check(row[column], secret) and not row["disabled"]:
            if row["failures"]:
                self.conn.execute("UPDATE staff SET failures = 0 WHERE login = ?", (row["login"],))
            return self._row(row)
        failures = row["failures"] + 1
        locked = now + LOCKOUT_S if failures >= MAX_FAILURES else 0
        self.conn.execute("UPDATE staff SET failures = ?, locked_until = ? WHERE login = ?",
                          (0 if locked else failures, locked, row["login"]))
        if locked:
            log.warning("staff %s locked for %d s after %d failed sign-ins", row["login"], LOCKOUT_S, failures)
            raise Locked(LOCKOUT_S)
        return None

    def check_password(self, login: str, password: str, now: float | None = None) -> Staff | None:
        """The account if the password is right (and it is enabled); None otherwise; Locked."""
        r = self.conn.execute("SELECT * FROM staff WHERE login = ?", (login.strip().lower(),)).fetchone()
        return self._attempt(r, password, "password", time.time() if now is None else now)

    def check_pin(self, code: str, pin: str, now: float | None = None) -> Staff | None:
        """The account whose keypad code and PIN these are; None otherwise; Locked."""
        r = self.conn.execute("SELECT * FROM staff WHERE code = ?", (code,)).fetchone()
        return self._attempt(r, pin, "pin", time.time() if now is None else now)


def _password_ok(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")


def give_to_service_user(path: Path) -> None:
    """Run as root (install, `sudo motcua staff`): the store and its WAL files stay the daemons' user's."""
    import pwd
    try:
        user = pwd.getpwnam("motcua")
    except KeyError:
        return
    if os.geteuid() == 0:
        for p in (path.parent, path, *path.parent.glob(path.name + "-*")):
            os.chown(p, user.pw_uid, user.pw_gid)


def new_password() -> str:
    """A password a technician can read out: 12 characters without look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


# ---------------------------------------------------------------------- CLI


def _secret(args: argparse.Namespace, what: str) -> str:
    if args.stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise StaffError(f"no {what} on standard input")
        return line
    first = getpass.getpass(f"{what}: ")
    if getpass.getpass(f"{what} again: ") != first:
        raise StaffError(f"the two {what}s differ")
    return first


def _counters(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise StaffError(f"--counters {text!r}: numbers separated by commas, e.g. 1,2") from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="motcua staff", description="Staff accounts of the office (DATA/staff/staff.db)")
    ap.add_argument("--data", default=None, help="office data folder (default: MOTCUA_DATA or ./var/office)")
    common = argparse.ArgumentParser(add_help=False)  # --data also after the subcommand
    common.add_argument("--data", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    a = command("add", "add an account")
    a.add_argument("login")
    a.add_argument("--name", required=True, help="full name, as shown to citizens (Nguyễn Thị Lan)")
    a.add_argument("--role", choices=ROLES, default="clerk")
    a.add_argument("--counters", default=None, help="counters a clerk may open, e.g. 1,2")
    a.add_argument("--code", default=None, help="keypad staff code (2-6 digits); asks for a PIN too")
    a.add_argument("--stdin", action="store_true", help="read the password (then the PIN) from standard input, one a line")
    command("list", "list accounts (never shows a password)")
    for name, what in (("disable", "block an account"), ("enable", "unblock an account"),
                       ("unlock", "clear failed sign-ins")):
        p = command(name, what)
        p.add_argument("login")
    r = command("reset", "give an account a new random password (printed once)")
    r.add_argument("login")
    pw = command("passwd", "set an account's password")
    pw.add_argument("login")
    pw.add_argument("--stdin", action="store_true", help="read the password from standard input")
    pn = command("pin", "set an account's keypad code and PIN")
    pn.add_argument("login")
    pn.add_argument("--code", required=True)
    pn.add_argument("--stdin", action="store_true", help="read the PIN from standard input")
    c = command("counters", "set the counters a clerk may open")
    c.add_argument("login")
    c.add_argument("counters", help="e.g. 1,2")
    return ap


def cli_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    data = Path(args.data or os.environ.get("MOTCUA_DATA", "var/office"))
    store = StaffStore(store_path(data))
    try:
        if args.cmd == "add":
            password = _secret(args, "password")
            pin = _secret(args, "PIN") if args.code else None
            s = store.add(args.login, args.name, args.role, password, counters=_counters(args.counters),
                          code=args.code, pin=pin)
            print(f"added {s.login} ({s.role}) {s.name}")
        elif args.cmd == "list":
            for s in store:
                state = "disabled" if s.disabled else "active"
                ctrs = ",".join(map(str, s.counters)) or ("all" if s.role != "clerk" else "-")
                print(f"{s.login:<16} {s.role:<10} {state:<8} code={s.code or '-':<6} counters={ctrs:<10} {s.name}")
        elif args.cmd in ("disable", "enable"):
            s = store.set_disabled(args.login, args.cmd == "disable")
            print(f"{s.login}: {'disabled' if s.disabled else 'enabled'}")
        elif args.cmd == "unlock":
            print(f"{store.unlock(args.login).login}: unlocked")
        elif args.cmd == "reset":
            password = new_password()
            store.set_password(args.login, password)
            print(f"new password for {args.login}: {password}")
        elif args.cmd == "passwd":
            store.set_password(args.login, _secret(args, "password"))
            print(f"{args.login}: password changed")
        elif args.cmd == "pin":
            store.set_pin(args.login, args.code, _secret(args, "PIN"))
            print(f"{args.login}: keypad code {args.code} and PIN set")
        elif args.cmd == "counters":
            s = store.set_counters(args.login, _counters(args.counters))
            print(f"{s.login}: counters {','.join(map(str, s.counters)) or '-'}")
    except StaffError as exc:
        print(f"motcua staff {args.cmd}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
        give_to_service_user(store.path)
    return 0
