"""Tests of the Resont client."""
