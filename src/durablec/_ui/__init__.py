"""``durablec ui``: a local web dashboard of one journal, built on :class:`Client` (docs/ui.md)."""
