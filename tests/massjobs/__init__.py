"""Tests of the mass-send runner."""
