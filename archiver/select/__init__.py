"""The select stage: of an archive's captures, the one the author saw.

Entry point: ``archiver.select.choose.find_best_memento``.
"""
