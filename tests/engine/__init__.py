"""Tests of toolkit._engine, one file per module."""
