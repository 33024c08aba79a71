"""The province's side: `motcua central` keeps every office's events in PostgreSQL."""
