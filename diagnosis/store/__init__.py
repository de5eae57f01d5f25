"""Persistence: what Teichaku stores and how it gets in and out.

The ORM models (:mod:`.models`), storing a survey response (:mod:`.responses`), human corrections
(:mod:`.corrections`), importing answer files (:mod:`.csv_io`, :mod:`.tabular`) and exporting
them (:mod:`.exports`). The pure code (``diagnosis.nlp``, ``diagnosis.recommend``,
``diagnosis.vocabulary``) never imports this package.
"""
