"""Recovering links an article lost: a citation whose URL was replaced by a marker is
matched against an archived copy of the article itself.

Entry point: ``archiver.recover.removed.recover_removed_links``; ``matching`` finds the
link in one copy.
"""
