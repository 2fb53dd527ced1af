"""``archiver demo``: the main job on the bundled example, on a simulated web (``simweb``)."""
