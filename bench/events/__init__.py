"""Benchmark of event-proxy: accepted and forwarded events a second, and their latency."""
