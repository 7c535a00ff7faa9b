"""Tests of mass sends."""
