"""Rendering results for people and programs: tables, JSON and JSON Lines."""
