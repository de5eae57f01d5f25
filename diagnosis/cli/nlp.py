"""Classifier commands for the Flask CLI: ``classify``, ``evaluate``, ``train``.

Thin wrappers: the work happens in :mod:`diagnosis.nlp` (plain Python, no flask).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from diagnosis.nlp.embeddings import BUILTIN_BACKENDS

from ..messages import translate
from .common import organisation_or_fail


def _models_dir() -> Path:
    """MODELS_DIR from the app config, else <repo>/models."""
    from diagnosis.nlp import default_models_dir

    value = current_app.config.get("MODELS_DIR")
    return Path(value) if value else default_models_dir()


def _backend(option: str | None) -> str | None:
    """--backend, else EMBEDDING_MODEL / TEICHAKU_EMBEDDING_MODEL, else the trained default."""
    value = option or current_app.config.get("EMBEDDING_MODEL") or os.environ.get("TEICHAKU_EMBEDDING_MODEL")
    return None if value in (None, "", "default") else value


def _read_texts(stream: Any) -> list[str]:
    """Lines of JSON objects with a "text" field, or plain text lines."""
    texts: list[str] = []
    for lineno, raw in enumerate(stream, 1):
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise click.ClickException(f"line {lineno}: invalid JSON ({exc})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise click.ClickException(f'line {lineno}: no "text" field')
            texts.append(row["text"])
        else:
            texts.append(line)
    return texts


@click.command("classify")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--backend", default=None, help="Embedding backend (e5-ft, e5-int8, use, e5 or a path).")
@click.option("--batch-size", default=512, show_default=True, help="Answers per model call.")
@click.option("--org", "org_ref", default=None,
              help="Classify with this organisation's adapted classifier (id or exact name; the base "
                   "model when it has none in use).")
@with_appcontext
def classify_command(file: Any, backend: str | None, batch_size: int, org_ref: str | None) -> None:
    """Classify answers from FILE (JSON Lines with "text", or plain lines; - = stdin)."""
    from diagnosis.nlp import classify
    from diagnosis.progress import progress

    texts = _read_texts(file)
    models_dir, chosen = _models_dir(), _backend(backend)
    run = lambda batch: classify(batch, models_dir, chosen)  # noqa: E731
    if org_ref is not None:
        if backend:
            raise click.UsageError("--org classifies with the organisation's model: drop --backend")
        from diagnosis.classifier_service import classifier_service
        from diagnosis.ops import schema_problem

        problem = schema_problem(current_app)
        if problem is not None:  # plain classify needs no database; --org does
            raise click.ClickException(problem)
        org = organisation_or_fail(org_ref)
        service = classifier_service()
        run = service.for_organisation(org.id).classify
        click.echo(f"classifying with {service.version_for(org.id)}", err=True)
    with progress(len(texts), "classifying", "text") as bar:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            for result in run(batch):
                row = result.to_dict()
                row.pop("confidence", None)
                click.echo(json.dumps(row, ensure_ascii=False))
            bar.update(len(batch))


@click.command("evaluate")
@click.option(
    "--backend",
    "backends",
    multiple=True,
    help="Restrict to these backends (repeatable); default: every built one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_appcontext
def evaluate_command(backends: tuple[str, ...], as_json: bool) -> None:
    """Macro-F1 on the wild set (primary), the clean held-out sets and CV, per backend and baseline."""
    from diagnosis.nlp.corpus import load_agreement, load_eval_sets, load_train
    from diagnosis.nlp.embeddings import get_encoder, resolve_backend
    from diagnosis.nlp.evaluation import (
        TFIDF,
        embed_all,
        evaluate_backend,
        evaluate_finetuned,
        evaluate_tfidf,
        format_tables,
    )
    from diagnosis.nlp.training import FINETUNED_BACKENDS, finetuned_inputs
    from diagnosis.progress import progress

    models_dir = _models_dir()
    corpus = models_dir / "corpus"
    train_rows = load_train(corpus)
    eval_sets = load_eval_sets(corpus)
    if not backends:
        backends = tuple(b for b in BUILTIN_BACKENDS if (p := resolve_backend(b, models_dir)[1]) is None or p.is_dir())
    # Steps: the TF-IDF baseline, then per backend its embeddings and its two heads.
    with progress(1 + 3 * len(backends), "evaluating", "step") as bar:
        bar.set_postfix_str("tf-idf baseline")
        results: dict[str, dict[str, Any]] = {TFIDF: evaluate_tfidf(train_rows, eval_sets)}
        bar.update()
        for name in backends:
            bar.set_postfix_str(f"{name}: embeddings")
            encoder = get_encoder(name, models_dir)
            embedded = embed_all(encoder, train_rows, eval_sets)
            if name in FINETUNED_BACKENDS:
                adapter, oof, _ = finetuned_inputs(models_dir, train_rows, encoder)
            bar.update()
            for char in (False, True):
                variant = name + ("+char" if char else "")
                bar.set_postfix_str(f"{variant}: cross-validation")
                if name in FINETUNED_BACKENDS:
                    res = evaluate_finetuned(encoder, train_rows, eval_sets, adapter, oof, char=char,
                                             embedded=embedded)
                else:
                    res = evaluate_backend(encoder, train_rows, eval_sets, char=char, embedded=embedded)
                for key in ("head", "char", "embedded"):
                    res.pop(key)
                results[variant] = res
                bar.update()
    agreement = load_agreement(corpus)
    if as_json:
        click.echo(json.dumps({"agreement": agreement, "results": results}, ensure_ascii=False, indent=2))
    else:
        sizes = {k: len(v) for k, v in eval_sets.items()}
        click.echo(format_tables(results, len(train_rows), sizes, agreement))


@click.command("train")
@click.option("--backend", default=None, help="Backend to train the head for (default: current default).")
@click.option("--with-corrections", "corrections_file", type=click.File("r", encoding="utf-8"),
              help="Add reviewed comments exported with `teichaku corrections export` (JSON Lines "
                   "with text and label). Only what a consultant exported, redacted, is added: "
                   "the database's reviews train each organisation's own model, never this one.")
@click.option("--set-default", is_flag=True, help="Make this backend the default in metadata.json.")
@click.option("--queue", "queued", is_flag=True,
              help="Hand the training to the worker (teichaku worker) and return at once; the worker "
                   "then relabels the comments the old head labelled.")
@with_appcontext
def train_command(backend: str | None, corrections_file: Any, set_default: bool, queued: bool) -> None:
    """Rebuild the committed head deterministically (optionally with exported corrections)."""
    from diagnosis.nlp import clear_cache
    from diagnosis.nlp.training import TRAIN_STEPS, train
    from diagnosis.progress import stages

    corrections = None
    if corrections_file is not None:
        from diagnosis.adaptation import ImportProblem, read_examples

        try:
            pairs = read_examples(corrections_file)
        except ImportProblem as exc:
            raise click.ClickException(f"{corrections_file.name}: {exc}") from None
        corrections = [{"text": t, "label": lab} for t, lab in pairs]
        click.echo(f"{len(corrections)} corrections from {corrections_file.name}", err=True)
    if queued:
        from diagnosis.jobs import job_queue

        job_queue().retrain(_backend(backend), corrections, set_default)
        click.echo("training queued; the worker logs a 'retrained' event when the new head is in use")
        return

    with stages(TRAIN_STEPS, "training") as done:
        entry = train(_models_dir(), _backend(backend), corrections=corrections, set_default=set_default,
                      on_step=done)
    clear_cache()
    cv, sets = entry["cv"], entry.get("eval_sets") or {}
    figures = ", ".join(f"{name} {res['macro_f1']:.3f}" for name, res in sets.items())
    click.echo(
        f"wrote {entry['file']}: n={entry['n_train']} (corrections {entry['n_corrections']}), "
        f"CV macro-F1 {cv['macro_f1']:.3f}, {figures or 'no evaluation sets'}, "
        f"unclear below {entry['unclear_threshold']:.3f}"
    )
    from diagnosis.ops import schema_problem

    if "sqlalchemy" in current_app.extensions and schema_problem(current_app) is None:
        # a database with organisations to re-adapt (training itself needs none)
        from diagnosis.adaptation import readapt_all

        n = readapt_all()
        if n:
            click.echo(f"re-adapted {n} organisation(s) to the new base model; relabel their comments "
                       "with `teichaku classify-pending --stale` (the worker's retrain does it itself)")


def format_figures(figures: dict, lang: str = "en") -> str:
    """One line: cross-validated accuracy of base and adapted models on the reviewed comments."""
    if figures.get("adapted_accuracy") is None:
        return translate("{n} reviewed comments: too few to measure (at least 20 are needed)", lang, n=figures["n"])
    return (f"accuracy on {figures['n']} reviewed comments ({figures['folds']}-fold cross-validation): "
            f"base {figures['base_accuracy']:.1%} → adapted {figures['adapted_accuracy']:.1%}; "
            f"macro-F1 {figures['base_macro_f1']:.3f} → {figures['adapted_macro_f1']:.3f}")


@click.command("adapt")
@click.argument("org_ref", metavar="ORG")
@click.option("--queue", "queued", is_flag=True, help="Hand the work to the worker and return at once.")
@with_appcontext
def adapt_command(org_ref: str, queued: bool) -> None:
    """(Re)train ORG's adapted classifier on its reviewed comments, print the cross-validated
    figures, and relabel its comments."""
    from diagnosis.adaptation import AdaptError, adapt_organisation

    org = organisation_or_fail(org_ref)
    if queued:
        from diagnosis.jobs import job_queue

        job_queue().adapt(org.id)
        click.echo("adaptation queued; the worker logs 'organisation_adapted' when it is done")
        return
    try:
        result = adapt_organisation(org.id)
    except AdaptError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"adapted {org.name}: {result.n_reviewed} reviewed, {result.n_self_labelled} "
               f"self-labelled (weight 0.3), {result.seconds:.1f} s → {result.version}")
    click.echo(format_figures(result.figures))
    if not result.in_use:
        click.echo("the adapted model measured worse than the base model: the base model stays in use")
    click.echo(f"relabelled {result.relabelled} comment(s)")


def init_app(app: Flask) -> None:
    """Register the classifier commands on the app's CLI."""
    app.cli.add_command(classify_command)
    app.cli.add_command(adapt_command)
    app.cli.add_command(evaluate_command)
    app.cli.add_command(train_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the `teichaku` command")
