"""The one network layer: the requests session and ``fetch`` (``http``), politeness towards
archives (``polite``, ``retry_after``), the host map (``hostmap``), and the link checker's
own asyncio client (``aioclient``, reading answers with ``answers`` and following
``redirects``), which is the hot path of ``archiver check``. Failures of both clients are
the typed errors of ``archiver.errors``.
"""
