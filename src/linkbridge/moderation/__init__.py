"""Moderation: who is held, approved or refused, and the lists behind it."""
