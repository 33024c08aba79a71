"""motcua: scanner."""
