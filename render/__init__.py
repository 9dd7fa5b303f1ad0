"""Torchenstein Studio: lesson scripts in, narrated lesson videos, decks and a course page out."""
