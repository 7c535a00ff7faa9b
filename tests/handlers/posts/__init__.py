"""Tests of post approvals."""
