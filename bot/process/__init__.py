"""The running process: serving (polling or webhook), update concurrency, telemetry, logs."""
