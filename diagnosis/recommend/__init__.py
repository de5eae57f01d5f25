"""Diagnosis aggregation and remedy recommender: plain Python, never imports flask.

Entry point: :func:`diagnosis.recommend.service.diagnose_campaign`. Everything except
:mod:`.loader` is a pure function of the dataclasses in :mod:`.data`.
"""
