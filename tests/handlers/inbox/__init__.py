"""Tests of the inbox bridge."""
