"""Tests of the Telegram features."""
