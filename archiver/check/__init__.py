"""The check stage: one verdict per URL with its evidence.

Entry point: ``archiver.check.links.check_urls``. ``checker`` makes the requests (asyncio,
in the event loop ``loop`` makes, in worker processes for a long list: ``processes``),
``soft404`` tells a "not found" page served with 200 from a real one, and ``history``
decides when failures seen over several runs confirm a dead link.
"""
