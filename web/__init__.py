"""The clerks' web console: an ASGI daemon speaking to the office only over MQTT."""
