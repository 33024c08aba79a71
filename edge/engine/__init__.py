"""motcua: engine."""
