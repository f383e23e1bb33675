"""Prometheus exposition for Sultan nodes (`instrumentation.prometheus_listen_addr`, /metrics)."""
