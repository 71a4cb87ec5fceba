"""Prometheus metrics shared by every service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter(
    "assist_events_in_total", "Messages consumed", ["service", "topic", "event_type"]
)
EVENTS_OUT = Counter(
    "assist_events_out_total", "Messages produced", ["service", "topic", "event_type"]
)
DEAD_LETTERS = Counter(
    "assist_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "topic"]
)
DUPLICATES = Counter(
    "assist_duplicates_dropped_total", "Redelivered events recognised and dropped", ["service"]
)
PROCESSING_SECONDS = Histogram(
    "assist_processing_seconds",
    "Time to handle one consumed message",
    ["service"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
TRANSACTION_SECONDS = Histogram(
    "assist_transaction_seconds",
    "Time to commit one batch's transaction (outputs + consumed offsets)",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
CONSUMER_LAG = Gauge(
    "assist_consumer_lag", "Messages not yet consumed", ["service", "topic", "partition"]
)
LAST_PROGRESS = Gauge(
    "assist_last_progress_timestamp_seconds", "When the processor last consumed", ["service"]
)
RESTARTS = Counter(
    "assist_processor_restarts_total", "Processor restarts after errors", ["service"]
)
HTTP_REQUESTS = Counter(
    "assist_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "assist_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
OVERDUE_REFERRALS = Gauge(
    "assist_overdue_referrals", "Open referrals past their due date", ["department"]
)
