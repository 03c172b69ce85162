"""Tests of toolkit._checks, one file per module."""
