"""Printer backends: one interface, a registry keyed by the config's ``backend``.

``PrinterBackend``: ``open()``, ``close()``, ``write(data, job_id)``, ``status()``. Backends
raise ``PrinterUnavailable`` for anything that means "not now" (unplugged, offline, paper
out); the daemon keeps the job and retries after reopening.
"""
from __future__ import annotations

import logging
from typing import Callable

from printer.backends.base import PaperOut, PrinterBackend, PrinterUnavailable

log = logging.getLogger(__name__)


def _escpos(device) -> PrinterBackend:
    from printer.backends.escpos_dev import EscposBackend
    return EscposBackend(device)


def _virtual(device) -> PrinterBackend:
    from printer.backends.virtual import VirtualPrinter
    return VirtualPrinter(device)


REGISTRY: dict[str, Callable[..., PrinterBackend]] = {
    "usb": _escpos, "serial": _escpos, "network": _escpos, "file": _escpos, "virtual": _virtual,
}


def create_backend(device, data_dir=None) -> PrinterBackend:
    """Backend for a ``PrinterDevice`` config."""
    try:
        factory = REGISTRY[device.backend]
    except KeyError:
        raise ValueError(f"unknown printer backend {device.backend!r}") from None
    backend = factory(device)
    if data_dir is not None and hasattr(backend, "set_default_dir"):
        backend.set_default_dir(data_dir)
    return backend


__all__ = ["PaperOut", "PrinterBackend", "PrinterUnavailable", "REGISTRY", "create_backend"]
