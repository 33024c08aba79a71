"""Ticket kiosk: service buttons by field, priority choice, ticket screen while printing.

- ``texts``      -- every line the kiosk shows, Vietnamese first, English second.
- ``controller`` -- the screen state machine (no pygame): what to show and when to refuse.
- ``screens``    -- pygame drawing of each screen; returns the touch targets.
- ``app``        -- the daemon: MQTT in/out, the UI thread, issuing and print jobs.
- ``shots``      -- ``python -m kiosk.ticket.shots OUTDIR``: every screen to PNG.
"""
