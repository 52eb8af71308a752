"""Tests for :mod:`graphcl.functional`."""
