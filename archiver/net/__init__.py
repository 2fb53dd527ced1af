"""The one network layer: the requests session and ``fetch`` (``http``), politeness towards
archives (``polite``), the host map (``hostmap``), and the link checker's own asyncio client
(``aioclient``), which is the hot path of ``archiver check``.
"""
