"""Tests of toolkit._fleet, one file per module."""
