"""Tests of toolkit._ops, one file per module."""
