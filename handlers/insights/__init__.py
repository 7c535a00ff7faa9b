"""Insights: charts of account and post metrics, weekly digest."""

from handlers.insights.wiring import feature

__all__ = ["feature"]
