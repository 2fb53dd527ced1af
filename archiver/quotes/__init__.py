"""The quotes stage: whether the words an article quotes are in its sources.

Entry points: ``archiver.quotes.article.check_article_quotes`` (the ``quotes`` command)
and ``archiver.quotes.inrun.check_run_quotes`` (the run report's ``quotes`` section);
``verify.check_quote`` checks one quote against the copies of its source. ``pagetext``
gives a page's text as a reader sees it, ``words`` the words compared, ``match`` finds a
quote and says how it differs, ``evidence`` builds what a reader clicks (a text fragment
link) and a tool reuses (a W3C ``TextQuoteSelector``), ``result`` holds the documented
fields. This package's modules are imported by name: nothing is imported here, so
``select`` can use ``words`` without importing the stage.
"""
