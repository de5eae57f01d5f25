"""The app's one way to the classifier, attached to each app with :meth:`ClassifierService.init_app`.

Which classifier labels an organisation's comments (its adapted one when it has one in use and it
was made on the current base model, else the base model), at which version, and that version's
known errors (the error model that corrects cause shares). Models are loaded lazily and once per
process and version: the base model by :func:`diagnosis.nlp.get_classifier`, an organisation's
adapted head here. Web processes never call :meth:`classify` (the worker does); the versions are
read from ``metadata.json`` and the database without loading a model.

``classification``, ``adaptation`` and the CLI reach it through :func:`classifier_service`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .store.models import OrgModel

log = logging.getLogger(__name__)


class ClassifierService:
    """Per-app state: the adapted classifiers and error models this process has loaded."""

    def __init__(self, app: Flask | None = None) -> None:
        self._lock = threading.Lock()
        self._adapted: dict[int, Any] = {}  # organisation id -> its adapted classifier
        self._error_models: dict[str, Any] = {}  # classifier version -> ErrorModel
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Attach to ``app`` (``app.extensions["classifier"]``)."""
        app.extensions["classifier"] = self

    # -- settings ----------------------------------------------------------------------------
    @staticmethod
    def backend_setting() -> str | None:
        """The app's EMBEDDING_MODEL setting, or None for the models' default."""
        backend = current_app.config.get("EMBEDDING_MODEL")
        return None if backend in (None, "", "default") else backend

    @staticmethod
    def models_dir() -> Any:
        from .nlp import default_models_dir

        return current_app.config.get("MODELS_DIR") or default_models_dir()

    # -- versions (no model loaded) ------------------------------------------------------------
    def base_version(self) -> str | None:
        """The base classifier's version, read from metadata.json."""
        from .nlp import model_version

        try:
            return model_version(current_app.config.get("MODELS_DIR"), self.backend_setting())
        except (OSError, ValueError):
            return None

    def version_for(self, organisation_id: int | None) -> str | None:
        """The version that labels this organisation's comments now: its adapted classifier's
        when one is in use and was made on the current base classifier, else the base's."""
        base = self.base_version()
        if organisation_id is None:
            return base
        record = db.session.execute(select(OrgModel.version, OrgModel.base_version, OrgModel.in_use)
                                    .where(OrgModel.organisation_id == organisation_id)).first()
        if record is not None and record.in_use and record.base_version == base:
            return record.version
        return base

    # -- models ------------------------------------------------------------------------------
    def base(self) -> tuple[Any, str]:
        """The process's base classifier and its version (reloaded after a retrain)."""
        from .nlp import clear_cache, get_classifier

        clf = get_classifier(current_app.config.get("MODELS_DIR"), self.backend_setting())
        if clf.version_ != self.base_version():  # the base was retrained since it was loaded
            clear_cache()
            self.forget()
            clf = get_classifier(current_app.config.get("MODELS_DIR"), self.backend_setting())
        return clf, clf.version_

    def for_organisation(self, organisation_id: int | None) -> Any:
        """The classifier that labels this organisation's comments (loaded once per version)."""
        from .nlp.adapt import AdaptedHead, adapted_classifier

        base, version = self.base()
        if organisation_id is None:
            return base
        wanted = self.version_for(organisation_id)
        if wanted == version:
            return base
        with self._lock:
            clf = self._adapted.get(organisation_id)
            if clf is None or clf.version_ != wanted:
                record = db.session.scalar(select(OrgModel).where(OrgModel.organisation_id == organisation_id))
                if record is None or record.version != wanted or record.base_version != version:
                    return base  # changed under us (a new adaptation or base): the base is safe
                head = AdaptedHead.from_bytes(record.head, base.head, version)
                clf = self._adapted[organisation_id] = adapted_classifier(base, head, record.version)
        return clf

    def classify(self, texts: list[str], organisation_id: int | None = None) -> tuple[list, str | None]:
        """Classify with the organisation's classifier; returns the results and the version that
        made them (the one stamped on the comments, even if an adaptation lands meanwhile)."""
        clf = self.for_organisation(organisation_id)
        return clf.classify(list(texts)), getattr(clf, "version_", None)

    def forget(self) -> None:
        """Drop the adapted classifiers this app holds (after an adaptation or a retrain)."""
        with self._lock:
            self._adapted.clear()

    # -- known errors ----------------------------------------------------------------------------
    def error_model(self, version: str | None) -> Any:
        """The base classifier's known errors on the wild evaluation set, for correcting cause
        shares; None when there is no record made by this version (loaded once per version)."""
        from .nlp import active_backend
        from .nlp.error_model import load_error_record
        from .recommend.quantify import ErrorModel

        if version in self._error_models:
            return self._error_models[version]
        models_dir = self.models_dir()
        try:
            record = load_error_record(models_dir, active_backend(models_dir, self.backend_setting()), version)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("no error model for corrected shares: %s", exc)
            return None
        if record is None:
            return None
        with self._lock:  # one per version: its bootstrap matrices are computed once
            self._error_models.clear()
            self._error_models[record.model_version] = ErrorModel(
                record.labels, record.posteriors, record.truth, record.source)
        return self._error_models[record.model_version]


def classifier_service() -> ClassifierService:
    """The current app's classifier service."""
    return current_app.extensions["classifier"]
