"""motcua: display."""
