"""Importing answer files on the dashboard: upload → preview → import, for consultants only.

The same reader as ``teichaku import-responses`` (:mod:`diagnosis.store.csv_io`): CSV in UTF-8,
Shift_JIS or UTF-16, or an Excel workbook such as a Microsoft Forms export. Between the preview
and the import the file waits on the server (:mod:`.uploads`), never in the cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth import campaign_or_404, consultant_required
from ..classification import schedule_classification
from ..extensions import csrf
from ..i18n import translate
from ..questionnaire import Questionnaire
from ..recommend.redact import redact
from ..store.csv_io import SUBMITTED_ON, CSVImportError, ReadFile, import_csv, read_responses
from ..store.models import Campaign
from . import bp, services, uploads
from .forms import ConfirmForm, ImportForm

PREVIEW_ROWS = 10
SHOWN_ERRORS = 200
_TEXT_PREVIEW = 120
ACCEPTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


@bp.before_request
def _sweep_uploads() -> None:
    """Expired uploads go even when nobody comes back to the import page (throttled)."""
    uploads.sweep()


def _questionnaire(campaign: Campaign) -> Questionnaire:
    q = services.questionnaire_of(campaign)
    if q is None:  # the campaign's questionnaire is no longer installed: nothing to map onto
        abort(404)
    return q


def _upload_page(campaign: Campaign, form: ImportForm, problem: str | None = None, status: int = 200):
    limit_mb = current_app.config["IMPORT_MAX_CONTENT_LENGTH"] // 2**20
    return render_template("dashboard/import_upload.html", campaign=campaign, form=form,
                           problem=problem, limit_mb=limit_mb), status


def _too_large() -> str:
    mb = current_app.config["IMPORT_MAX_CONTENT_LENGTH"] // 2**20
    return translate("The file is too large (at most {mb} MB). Please split it and import the parts.", mb=mb)


def _file_problem(filename: str, data: bytes) -> str | None:
    """Why an uploaded file is refused before it is even stored, or None."""
    if not filename:
        return translate("Please choose a file.")
    if not filename.lower().endswith(ACCEPTED_SUFFIXES):
        return translate("Please choose a CSV file (.csv, .tsv, .txt) or an Excel workbook (.xlsx). "
                         "Save an old .xls file as .xlsx in Excel first.")
    if not data:
        return translate("The file is empty.")
    if len(data) > current_app.config["IMPORT_MAX_CONTENT_LENGTH"]:
        return _too_large()
    return None


@bp.route("/campaigns/<int:campaign_id>/import", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, after the larger size limit below is in place
@consultant_required
def import_upload(campaign_id: int):
    """Choose an answer file; it is stored on the server and previewed before anything is imported."""
    campaign = campaign_or_404(campaign_id)
    _questionnaire(campaign)
    if request.method == "GET":
        return _upload_page(campaign, ImportForm())
    limit = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    # Only this request may be larger than MAX_CONTENT_LENGTH; set before the body is read.
    request.max_content_length = limit + 64 * 1024  # room for the multipart envelope
    if (request.content_length or 0) > request.max_content_length:
        return _upload_page(campaign, ImportForm(formdata=None), _too_large(), 413)
    try:
        form = ImportForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:  # a body sent without Content-Length
        return _upload_page(campaign, ImportForm(formdata=None), _too_large(), 413)
    if not valid:  # only the CSRF token can be wrong: the file is checked below
        abort(400)
    upload = form.answers_file.data
    filename = (getattr(upload, "filename", None) or "").strip()
    data = upload.read(limit + 1) if filename else b""
    problem = _file_problem(filename, data)
    if problem is not None:
        return _upload_page(campaign, form, problem, 400)
    token = uploads.save(data, filename, current_user.id, campaign.id)
    return redirect(url_for("dashboard.import_preview", campaign_id=campaign.id, token=token))


@dataclass
class PreviewTable:
    """The first valid rows as they will be stored: one column per mapped item."""

    columns: list[tuple[str, str]]  # (item id or submitted_on, header as written in the file)
    rows: list[tuple[int, list[str], str]]  # (line, cells, language)


def _cell(value: Any, is_text: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if is_text:  # comments are shown redacted everywhere on the dashboard, and shortened here
        text = redact(text)
        text = text if len(text) <= _TEXT_PREVIEW else text[: _TEXT_PREVIEW - 1] + "…"
    return text


def preview_table(read: ReadFile, questionnaire: Questionnaire, limit: int = PREVIEW_ROWS) -> PreviewTable:
    """The first ``limit`` valid rows of a read file, in questionnaire order of the columns."""
    mapped = read.result.columns
    order = [i.id for i in questionnaire.items if i.id in mapped]
    if SUBMITTED_ON in mapped:
        order.append(SUBMITTED_ON)
    texts = {i.id for i in questionnaire.items_of_type("text")}
    rows = []
    for row in read.rows[:limit]:
        values = {**row["answers"], SUBMITTED_ON: row["submitted_on"]}
        rows.append((row["line"], [_cell(values.get(k), k in texts) for k in order], row["lang"]))
    return PreviewTable([(k, mapped[k]) for k in order], rows)


def _read(campaign: Campaign, upload: uploads.PendingUpload) -> tuple[ReadFile, Questionnaire]:
    q = _questionnaire(campaign)
    return read_responses(campaign, q, upload.data, upload.filename), q


def _gone(campaign: Campaign):
    flash(translate("This file has already been imported or has expired (after an hour). Please choose it again."),
          "error")
    return redirect(url_for("dashboard.import_upload", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/import/<token>")
@consultant_required
def import_preview(campaign_id: int, token: str):
    """How the file was read, its first rows as they will be stored, and every problem found."""
    campaign = campaign_or_404(campaign_id)
    upload = uploads.load(token, current_user.id, campaign.id)
    if upload is None:
        return _gone(campaign)
    read, q = _read(campaign, upload)
    return render_template(
        "dashboard/import_preview.html", campaign=campaign, upload=upload, read=read,
        table=preview_table(read, q), errors=read.errors[:SHOWN_ERRORS],
        more_errors=max(0, len(read.errors) - SHOWN_ERRORS))


@bp.route("/campaigns/<int:campaign_id>/import/<token>", methods=["POST"])
@consultant_required
def import_confirm(campaign_id: int, token: str):
    """Import the previewed file (all or nothing), then classify its comments."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    upload = uploads.claim(token, current_user.id, campaign.id)
    if upload is None:
        return _gone(campaign)
    try:
        result = import_csv(campaign, _questionnaire(campaign), upload.data, filename=upload.filename)
    except CSVImportError:  # the preview had none, but the campaign may have changed since
        uploads.release(token)
        flash(translate("The file has errors; nothing was imported."),
              "error")
        return redirect(url_for("dashboard.import_preview", campaign_id=campaign.id, token=token))
    except Exception:
        uploads.release(token)
        raise
    uploads.delete(token)
    schedule_classification(result.response_ids)
    n, c = result.imported, result.comments
    flash(translate("{n} responses were imported. Their {c} comments are being classified.", n=n, c=c) if c
          else translate("{n} responses were imported.", n=n), "success")
    return redirect(url_for("dashboard.campaign", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/import/<token>/discard", methods=["POST"])
@consultant_required
def import_discard(campaign_id: int, token: str):
    """Delete the uploaded file without importing it."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if uploads.load(token, current_user.id, campaign.id) is not None:
        uploads.delete(token)
        flash(translate("The file was deleted; nothing was imported."),
              "success")
    return redirect(url_for("dashboard.import_upload", campaign_id=campaign.id))
