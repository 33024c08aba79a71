"""Statistics and reports (`motcua report`): XLSX, CSV and PNG charts from the engine's SQLite."""
