"""Tests of toolkit._demo, one file per module."""
