"""The check stage: one verdict per URL with its evidence.

Entry point: ``archiver.check.links.check_urls``. ``checker`` makes the requests (asyncio,
in worker processes), ``soft404`` tells a "not found" page served with 200 from a real one.
"""
