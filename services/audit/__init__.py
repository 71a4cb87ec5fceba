"""Audit: auditors read, verify and replay any household's chain; signed checkpoints (port 8005)."""
