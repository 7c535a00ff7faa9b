"""Tests of the text helpers."""
