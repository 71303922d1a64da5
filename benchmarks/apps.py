from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Reference implementations and data generators for the benchmarks: never shipped code's
    dependency (the top layer; nothing imports it)."""

    name = "benchmarks"
