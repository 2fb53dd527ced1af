"""Asking the Internet Archive to capture pages now (Save Page Now 2).

Entry point: ``archiver.save.spn.save_urls``.
"""
