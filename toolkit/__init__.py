"""Audience Toolkit."""
