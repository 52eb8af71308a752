"""Tests for :mod:`graphcl.transforms`."""
