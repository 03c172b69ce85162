"""Tests of toolkit._view, one file per module."""
