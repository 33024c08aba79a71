"""Thermal ticket printer: ticket layout -> ESC/POS bytes, backends, durable job queue, daemon.

- ``printer.escpos``   -- the few ESC/POS commands we emit (byte builders).
- ``printer.layout``   -- ``TicketInfo`` -> ESC/POS bytes for 58/80 mm paper (raster Vietnamese,
  native ASCII number/time, native or raster QR).
- ``printer.decode``   -- our own decoder of those bytes into a PIL image (virtual backend, tests).
- ``printer.status``   -- DLE EOT status bytes, validated (no answer is *unknown*, never "fine").
- ``printer.backends`` -- ``PrinterBackend`` interface + registry: usb, serial, network, file, virtual.
- ``printer.jobs``     -- durable SQLite job queue.
- ``printer.daemon``   -- ``create(ctx)``: MQTT print jobs in, results and device status out.
"""
