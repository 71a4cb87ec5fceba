"""Referral: push according to needs, one referral per program a household lacks."""
