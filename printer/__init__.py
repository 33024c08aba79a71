"""motcua: printer."""
