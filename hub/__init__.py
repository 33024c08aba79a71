"""motcua: hub."""
