"""motcua: edge."""
