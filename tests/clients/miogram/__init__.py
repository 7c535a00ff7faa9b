"""Tests of the MioGram client."""
