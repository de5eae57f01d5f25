"""Each organisation's classifier: its reviewed comments teach the base model its wording.

The examples of one organisation are its campaigns' reviewed comments (confirmed or corrected on
the dashboard), the labelled comments imported for it (``teichaku corrections import``) and, at a
lower weight, comments whose writer's own reason checklist named one cause. Nothing of another
organisation is ever read here: every query is scoped by ``organisation_id``, and the model is
stored on the organisation's own row (``OrgModel``). The method is in ``diagnosis.nlp.adapt``.

Adapting runs in the worker (``JobQueue.adapt``) or from ``teichaku adapt ORG``; afterwards the
organisation's comments are relabelled by the adapted classifier, and the diagnosis follows.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .classifier_service import classifier_service
from .extensions import db
from .ops import log_event
from .store.models import Campaign, Comment, Organisation, OrgExample, OrgModel, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One labelled text of an organisation."""

    text: str
    label: str
    weight: float
    reviewed: bool  # a person's label (scored in the figures); False for weak self-labels


def _org_comments(organisation_id: int):
    return (select(Comment).join(Campaign, Comment.campaign_id == Campaign.id)
            .where(Campaign.organisation_id == organisation_id))


def examples(organisation_id: int) -> list[Example]:
    """The organisation's labelled texts, in a stable order: reviewed comments, imported
    examples, then self-labelled comments nobody reviewed (weighted less)."""
    from .nlp.adapt import SELF_LABEL_WEIGHT
    from .nlp.labels import LABELS

    out: list[Example] = []
    comments = list(db.session.scalars(_org_comments(organisation_id).order_by(Comment.id)))
    weak: list[Example] = []
    released = _released_responses({c.campaign_id for c in comments if c.self_label in LABELS})
    for c in comments:
        if c.corrected_label in LABELS:
            out.append(Example(c.text, c.corrected_label, 1.0, True))
        elif c.self_label in LABELS and c.response_id in released:
            weak.append(Example(c.text, c.self_label, SELF_LABEL_WEIGHT, False))
    imported = db.session.scalars(select(OrgExample).where(OrgExample.organisation_id == organisation_id)
                                  .order_by(OrgExample.id))
    out.extend(Example(e.text, e.label, 1.0, True) for e in imported)
    return out + weak


def _released_responses(campaign_ids: set[int]) -> set[int]:
    """Responses of these campaigns whose comments their released snapshots show: a self-label of
    a response still held back must not move the labels of released ones (results move in steps)."""
    from .workspace import released_snapshot

    out: set[int] = set()
    for cid in campaign_ids:
        out |= set(released_snapshot(db.session.get(Campaign, cid))[0].comment_members)
    return out


def reviewed_count(organisation_id: int) -> int:
    """Reviewed comments plus imported examples of the organisation."""
    reviewed = db.session.scalar(_org_comments(organisation_id).where(Comment.corrected_label.is_not(None))
                                 .with_only_columns(func.count())) or 0
    imported = db.session.scalar(select(func.count()).select_from(OrgExample)
                                 .where(OrgExample.organisation_id == organisation_id)) or 0
    return reviewed + imported


def _newest_review(organisation_id: int) -> dt.datetime | None:
    newest = db.session.scalar(_org_comments(organisation_id).with_only_columns(func.max(Comment.corrected_at)))
    imported = db.session.scalar(select(func.max(OrgExample.created_at))
                                 .where(OrgExample.organisation_id == organisation_id))
    stamps = [s for s in (newest, imported) if s is not None]
    return max(stamps) if stamps else None


def org_model(organisation_id: int) -> OrgModel | None:
    """The organisation's adapted-model record (in use or not), if it was ever adapted."""
    return db.session.scalar(select(OrgModel).where(OrgModel.organisation_id == organisation_id))


def new_reviews(organisation_id: int, record: OrgModel | None = None, total: int | None = None) -> int:
    """Reviews the organisation's model has not learned from: made or changed since it was
    trained (an undone review counts as one change). ``record`` and ``total`` (its model record
    and ``reviewed_count``) save the queries when the caller has them."""
    record = record if record is not None else org_model(organisation_id)
    total = total if total is not None else reviewed_count(organisation_id)
    if record is None:
        return total
    since = record.reviewed_through or dt.datetime.min
    changed = db.session.scalar(_org_comments(organisation_id).where(Comment.corrected_at > since)
                                .with_only_columns(func.count())) or 0
    imported = db.session.scalar(select(func.count()).select_from(OrgExample).where(
        OrgExample.organisation_id == organisation_id, OrgExample.created_at > since)) or 0
    undone = max(0, record.n_reviewed - total)  # reviews taken back
    return changed + imported + undone


def summary(organisation_id: int) -> dict[str, Any]:
    """What the dashboard and the PDF say about the organisation's own classifier: reviews,
    whether it was adapted and is in use, and the cross-validated figures."""
    record = org_model(organisation_id)
    total = reviewed_count(organisation_id)
    cfg = current_app.config
    out: dict[str, Any] = {
        "reviewed": total, "new": new_reviews(organisation_id, record, total),
        "min_reviewed": int(cfg.get("ADAPT_MIN_REVIEWED", 10)), "every": int(cfg.get("ADAPT_EVERY", 10)),
        "adapted": record is not None, "figures": None, "in_use": False, "trained_at": None,
        "current": False,
    }
    if record is not None:
        out.update(figures=record.figures, in_use=record.in_use, trained_at=record.trained_at,
                   n_reviewed=record.n_reviewed, n_self_labelled=record.n_self_labelled,
                   current=record.base_version == classifier_service().base_version(), version=record.version)
    return out


# -- the wild set under an adapted head: its error model for corrected cause shares ---------------


def _wild_features(base, version: str):
    """Features of the wild evaluation set under the base classifier, cached on disk per version
    (encoding 1,085 statements is the slow part; the cache makes a re-adaptation fast)."""
    import scipy.sparse as sp

    from .nlp import default_models_dir
    from .nlp.adapt import answer_features
    from .nlp.corpus import PRIMARY, load_eval_sets

    models_dir = Path(current_app.config.get("MODELS_DIR") or default_models_dir())
    rows = load_eval_sets(models_dir / "corpus").get(PRIMARY)
    if not rows:
        return None, None
    truth = [r.label for r in rows]
    cache = Path(current_app.instance_path) / "cache" / f"wild-{version.replace(':', '-')}.npz"
    if cache.exists():
        try:
            return sp.load_npz(cache), truth
        except (OSError, ValueError):
            cache.unlink(missing_ok=True)
    X = sp.csr_matrix(answer_features(base, [r.text for r in rows]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    sp.save_npz(tmp, X)
    tmp.replace(cache)
    return X, truth


def _error_bytes(head, X, truth: list[str]) -> bytes:
    labels = [str(c) for c in head.classes_]
    buf = io.BytesIO()
    np.savez_compressed(buf, labels=np.asarray(labels), posteriors=head.predict_proba(X).astype(np.float32),
                        truth=np.asarray([labels.index(t) for t in truth]))
    return buf.getvalue()


def error_model_of(organisation_id: int, version: str):
    """The adapted classifier's error model (its probabilities on the wild set), or None."""
    from .recommend.quantify import ErrorModel

    record = org_model(organisation_id)
    if record is None or record.version != version or not record.errors:
        return None
    with np.load(io.BytesIO(record.errors), allow_pickle=False) as z:
        labels = tuple(str(x) for x in z["labels"])
        return ErrorModel(labels, z["posteriors"].astype(np.float64), z["truth"],
                          f"wild.jsonl under the classifier adapted to organisation {organisation_id}")


# -- adapting -------------------------------------------------------------------------------------


class AdaptError(ValueError):
    """Adaptation cannot run (too few examples); the message says why."""


@dataclass(frozen=True)
class AdaptResult:
    """What one adaptation did."""

    organisation_id: int
    version: str
    in_use: bool
    n_reviewed: int
    n_self_labelled: int
    figures: dict[str, Any]
    seconds: float
    relabelled: int


def adapt_organisation(organisation_id: int, relabel: bool = True) -> AdaptResult:
    """(Re)train the organisation's adapted classifier from its examples, measure it against the
    base model by cross-validation, store it, and relabel the organisation's comments."""
    from .nlp.adapt import AdaptedHead, adapted_version, answer_features, cross_validate

    if db.session.get(Organisation, organisation_id) is None:
        raise AdaptError(f"no organisation {organisation_id}")
    rows = examples(organisation_id)
    minimum = int(current_app.config.get("ADAPT_MIN_REVIEWED", 10))
    n_reviewed = sum(1 for r in rows if r.reviewed)
    if n_reviewed < minimum:
        raise AdaptError(f"{n_reviewed} reviewed comment(s): at least {minimum} are needed to adapt")
    start, started_at = time.perf_counter(), utcnow()
    through = _newest_review(organisation_id)
    base, version = classifier_service().base()
    X = answer_features(base, [r.text for r in rows])
    y = [r.label for r in rows]
    w = [r.weight for r in rows]
    reviewed = [r.reviewed for r in rows]
    figures, _ = cross_validate(base.head, X, y, w, reviewed)
    head = AdaptedHead(base=base.head).fit(X, y, w)
    data = head.to_bytes(version)
    new_version = adapted_version(version, organisation_id, data)
    # Measured worse than the base model: keep the base in use and say so.
    in_use = not (figures.measured and figures.adapted_accuracy < figures.base_accuracy)
    wild_X, truth = _wild_features(base, version)
    errors = _error_bytes(head, wild_X, truth) if wild_X is not None else None
    seconds = round(time.perf_counter() - start, 2)
    db.session.expire_all()  # see what another adaptation may have stored meanwhile
    record = org_model(organisation_id)
    if record is not None and record.trained_at > started_at:
        # Two adaptations ran at once (two worker threads, the CLI): the later start, which saw
        # more reviews, wins; this one stores nothing.
        log.info("adaptation of organisation %s superseded by a newer one", organisation_id)
        return AdaptResult(organisation_id, record.version, record.in_use, record.n_reviewed,
                           record.n_self_labelled, record.figures or {}, seconds, 0)
    record = record or OrgModel(organisation_id=organisation_id)
    record.base_version, record.version, record.head, record.errors = version, new_version, data, errors
    record.n_reviewed, record.n_self_labelled = n_reviewed, len(rows) - n_reviewed
    record.reviewed_through, record.figures, record.in_use = through, figures.to_dict(), in_use
    record.seconds, record.trained_at = seconds, utcnow()
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:  # another adaptation inserted the organisation's first record first
        db.session.rollback()
        raise AdaptError("another adaptation of this organisation finished first; nothing stored") from None
    classifier_service().forget()
    log_event("organisation_adapted", organisation_id=organisation_id, version=new_version,
              in_use=in_use, n_reviewed=n_reviewed, seconds=seconds, **{
                  k: v for k, v in figures.to_dict().items() if k != "n"})
    relabelled = 0
    if relabel:
        from .classification import reclassify_stale

        relabelled = reclassify_stale(organisation_id=organisation_id)
    return AdaptResult(organisation_id, new_version, in_use, n_reviewed, len(rows) - n_reviewed,
                       figures.to_dict(), seconds, relabelled)


def readapt_all() -> int:
    """After the base model changed: adapt every organisation that had an adapted model again, on
    the new base (a correction is made for one base). One organisation's failure is logged and the
    others go on; returns how many were adapted. Relabelling is the caller's."""
    classifier_service().forget()
    done = 0
    for org_id in db.session.scalars(select(OrgModel.organisation_id)).all():
        try:
            adapt_organisation(org_id, relabel=False)
            done += 1
        except Exception:  # noqa: BLE001 - the others must still be adapted; this one keeps the base
            db.session.rollback()
            log.exception("organisation %s not re-adapted on the new base model", org_id)
    return done


def schedule_adaptation(organisation_id: int, force: bool = False) -> bool:
    """After a review is committed: ask for an adaptation once ADAPT_EVERY reviews are new or
    changed since the model was trained (or now, with ``force``), as configured by ADAPT_ON_REVIEW
    ("queue", "sync" or "off"). Never raises:
    the review is stored whatever happens here. Returns whether an adaptation was asked for."""
    cfg = current_app.config
    mode = cfg.get("ADAPT_ON_REVIEW", "queue")
    if mode == "off":
        return False
    total = reviewed_count(organisation_id)
    fresh = new_reviews(organisation_id, total=total)
    every = max(1, int(cfg.get("ADAPT_EVERY", 10)))
    if total < int(cfg.get("ADAPT_MIN_REVIEWED", 10)) or fresh == 0:
        return False
    if not force and fresh < every:
        return False  # a job already asked for skips itself once the model knows every review
    try:
        if mode == "sync":
            adapt_organisation(organisation_id)
        else:
            from .jobs import job_queue

            job_queue().adapt(organisation_id)
        return True
    except Exception:  # noqa: BLE001 - the reviews are stored; adaptation can be asked for again
        db.session.rollback()
        log.exception("adaptation of organisation %s not %s", organisation_id,
                      "done" if mode == "sync" else "queued")
        return False


# -- importing labelled comments ------------------------------------------------------------------


class ImportProblem(ValueError):
    """A line of an examples file that cannot be used; the message names the line."""


def read_examples(lines, max_chars: int = 4000) -> list[tuple[str, str]]:
    """``(text, label)`` pairs from JSON Lines ``{"text", "label"}``; the first bad line raises
    :class:`ImportProblem` naming its number and what is wrong (nothing is stored then)."""
    import json

    from .nlp.labels import LABELS

    out: list[tuple[str, str]] = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ImportProblem(f"line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ImportProblem(f'line {lineno}: expected an object with "text" and "label"')
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or not text.strip():
            raise ImportProblem(f'line {lineno}: "text" is missing or empty')
        if len(text) > max_chars:
            raise ImportProblem(f"line {lineno}: text is {len(text)} characters (at most {max_chars})")
        if label not in LABELS:
            raise ImportProblem(f'line {lineno}: "label" must be one of {", ".join(LABELS)} (got {label!r})')
        out.append((text.strip(), label))
    if not out:
        raise ImportProblem("the file has no examples")
    return out


def import_examples(organisation_id: int, pairs: list[tuple[str, str]], source: str) -> int:
    """Store labelled texts as the organisation's reviewed examples (committed); returns how many."""
    db.session.add_all(OrgExample(organisation_id=organisation_id, text=t, label=lab, source=source[:200])
                       for t, lab in pairs)
    db.session.commit()
    return len(pairs)
