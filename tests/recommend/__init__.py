"""Tests of the diagnosis and recommender (a package so its conftest does not shadow tests/conftest)."""
