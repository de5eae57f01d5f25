"""A campaign's pages: dashboard, comments browser, interviews, exports and the PDF report.

Routes stay thin: authorise (``campaign_or_404`` on every one), validate, call a service, render.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import charts
from ..adaptation import schedule_adaptation
from ..adaptation import summary as adaptation_summary
from ..auth import campaign_or_404, consultant_required
from ..classification import schedule_classification
from ..extensions import db
from ..i18n import current_lang, translate
from ..interviews import InterviewError
from ..recommend.redact import redact
from ..recommend.sanity import pending_warning
from ..security import safe_next
from ..store.corrections import CorrectionError, record_correction
from ..store.exports import ExportRefused, diagnosis_csv, responses_csv
from ..store.models import SEGMENT_FIELDS, Campaign
from ..vocabulary import LABELS
from ..workspace import survey_url
from . import bp, services
from .forms import ConfirmForm, CorrectionForm, InterviewForm, NoteForm


@bp.context_processor
def _helpers() -> dict[str, Any]:
    """Display names of causes and segment fields for the dashboard templates."""
    pb = services.playbook()

    def cause_label(cause: str | None, lang: str | None = None) -> str:
        lang = lang or current_lang()
        if cause in pb.data["causes"]:
            return charts.cause_name(cause, lang)
        if cause == "unclear":
            return translate("Unclear", lang)
        return translate("Pending", lang)

    def field_label(field: str, lang: str | None = None) -> str:
        return pb.text(f"segment_field_{field}", lang or current_lang())

    return {"cause_label": cause_label, "field_label": field_label,
            "causes": LABELS}


@bp.app_template_filter("redact")
def _redact_filter(text: str | None) -> str:
    """Redact personal details from a comment shown in a template."""
    return redact(text or "")


def _filename(campaign: Campaign, suffix: str) -> str:
    # The slug is [a-z0-9-]: safe in a header without quoting tricks.
    return f"teichaku-{campaign.slug}-{suffix}"


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def campaign(campaign_id: int):
    """The campaign dashboard: response rate, funnel, causes, segments, recommendation, waves."""
    campaign = campaign_or_404(campaign_id)
    lang = current_lang()
    view = services.campaign_view(campaign, lang)
    link = survey_url(campaign)
    notes, sentences = services.interview_counts(campaign)
    return render_template(
        "dashboard/campaign.html", campaign=campaign, d=view.d, chart=view.charts, wave=view.wave,
        warnings=view.warnings, notes=notes, sentences=sentences, link=link,
        qr=services.survey_qr_svg(link, translate("QR code of the survey link")),
        people=services.dx_leads(campaign) if current_user.is_consultant else [],
        confirm=ConfirmForm(), note_form=NoteForm(note=campaign.consultant_note),
        classifier=services.classifier_figures(),
        adaptation=adaptation_summary(campaign.organisation_id))


@bp.route("/campaigns/<int:campaign_id>/qr.svg")
@login_required
def campaign_qr(campaign_id: int):
    """The survey link's QR code as an SVG file, for posters."""
    campaign = campaign_or_404(campaign_id)
    svg = str(services.survey_qr_svg(survey_url(campaign), "QR"))
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="{_filename(campaign, "qr.svg")}"'})


@bp.route("/campaigns/<int:campaign_id>/note", methods=["POST"])
@consultant_required
def campaign_note(campaign_id: int):
    """Save the consultant's note (it appears in the PDF report)."""
    campaign = campaign_or_404(campaign_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(translate("The note may be up to 5000 characters."),
              "error")
    else:
        campaign.consultant_note = (form.note.data or "").strip() or None
        db.session.commit()
        flash(translate("The consultant's note was saved."), "success")
    return redirect(url_for("dashboard.campaign", campaign_id=campaign.id) + "#workspace")


@bp.route("/campaigns/<int:campaign_id>/comments")
@login_required
def comments(campaign_id: int):
    """The comments browser: filter, read redacted comments, correct their cause."""
    campaign = campaign_or_404(campaign_id)
    diag = services.campaign_diagnosis(campaign, current_lang())
    options = services.segment_options(diag)
    filters = services.CommentFilters.parse(request.args, options)
    page = services.list_comments(campaign, filters, diag)
    return render_template("dashboard/comments.html", campaign=campaign, page=page,
                           filters=filters, options=options, form=CorrectionForm(),
                           cause_filters=services.CAUSE_FILTERS,
                           min_group=diag.thresholds.min_group,
                           min_comments_group=diag.thresholds.min_comments_group)


@bp.route("/campaigns/<int:campaign_id>/comments/<int:comment_id>/correct", methods=["POST"])
@login_required
def correct_comment(campaign_id: int, comment_id: int):
    """Store a human correction of a comment's cause; the diagnosis uses it at once."""
    campaign = campaign_or_404(campaign_id)
    diag = services.campaign_diagnosis(campaign, current_lang())
    comment = services.comment_or_none(campaign, comment_id, diag)
    if comment is None:
        abort(404)
    form = CorrectionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        record_correction(comment, form.label.data or None, current_user.id)
    except CorrectionError:
        abort(400)
    db.session.commit()
    schedule_adaptation(campaign.organisation_id)  # a correction here teaches the model too
    flash(translate("The cause was corrected; the diagnosis already uses it.") if form.label.data
          else translate("The correction was removed."), "success")
    back = safe_next(form.next.data)
    if back is None or not back.startswith(f"/campaigns/{campaign.id}/"):
        back = url_for("dashboard.comments", campaign_id=campaign.id)
    return redirect(f"{back}#c{comment.id}" if "#" not in back else back)


def _interview_form(campaign: Campaign, lang: str) -> InterviewForm:
    form = InterviewForm()
    choices = services.segment_choices(campaign, lang)
    blank = ("", translate("(not specified)", lang))
    for f in SEGMENT_FIELDS:
        getattr(form, f).choices = [blank, *choices.get(f, [])]
    return form


@bp.route("/campaigns/<int:campaign_id>/interviews")
@login_required
def interviews(campaign_id: int):
    """The campaign's interview notes and, for consultants, the form to add one."""
    campaign = campaign_or_404(campaign_id)
    lang = current_lang()
    form = _interview_form(campaign, lang) if current_user.is_consultant else None
    return render_template("dashboard/interviews.html", campaign=campaign, form=form,
                           notes=services.interviews_of(campaign),
                           choices=services.segment_choices(campaign, lang))


@bp.route("/campaigns/<int:campaign_id>/interviews", methods=["POST"])
@consultant_required
def new_interview(campaign_id: int):
    """A consultant adds notes pasted or uploaded as UTF-8 text; they are split and classified."""
    campaign = campaign_or_404(campaign_id)
    lang = current_lang()
    form = _interview_form(campaign, lang)
    if form.validate_on_submit():
        text = form.text.data or ""
        upload = form.notes_file.data
        try:
            if upload and upload.filename:
                text = services.read_upload(upload.read(services.MAX_UPLOAD_BYTES + 1),
                                            upload.filename, lang)
            if not text.strip():
                raise services.UploadError(translate("Paste the notes or choose a .txt file.", lang))
            note = services.create_interview(
                campaign, current_user.id, form.title.data, text,
                interviewee=form.interviewee.data, held_on=form.held_on.data,
                **{f: getattr(form, f).data or None for f in SEGMENT_FIELDS})
        except (services.UploadError, InterviewError) as exc:
            db.session.rollback()
            form.text.errors = [*form.text.errors, str(exc)]
        else:
            schedule_classification(interview_ids=[note.id])
            flash(translate("The notes were added ({n} sentences).", lang, n=len(note.comments)), "success")
            return redirect(url_for("dashboard.interview", campaign_id=campaign.id,
                                    interview_id=note.id))
    return render_template("dashboard/interviews.html", campaign=campaign, form=form,
                           notes=services.interviews_of(campaign),
                           choices=services.segment_choices(campaign, lang)), 400


@bp.route("/campaigns/<int:campaign_id>/interviews/<int:interview_id>")
@login_required
def interview(campaign_id: int, interview_id: int):
    """One interview note, sentence by sentence with the cause of each."""
    campaign = campaign_or_404(campaign_id)
    note = services.interview_or_404(campaign, interview_id)
    if note is None:
        abort(404)
    sentences = [(c, redact(c.text)) for c in note.comments]
    return render_template("dashboard/interview.html", campaign=campaign, note=note,
                           sentences=sentences, form=CorrectionForm(),
                           choices=services.segment_choices(campaign, current_lang()))


@bp.route("/campaigns/<int:campaign_id>/export/responses.csv")
@consultant_required
def export_responses(campaign_id: int):
    """Per-person rows with their classified causes as CSV (UTF-8 with BOM); consultants only,
    DX leads get the aggregates."""
    campaign = campaign_or_404(campaign_id)
    lang = current_lang()
    diag = services.campaign_diagnosis(campaign, lang)
    try:
        data = responses_csv(campaign, services.questionnaire_of(campaign), lang, diag,
                             services.order_secret(campaign))
    except ExportRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.campaign", campaign_id=campaign.id))
    return _csv(data, _filename(campaign, "responses.csv"))


@bp.route("/campaigns/<int:campaign_id>/export/diagnosis.csv")
@login_required
def export_diagnosis(campaign_id: int):
    """The diagnosis tables as CSV (UTF-8 with BOM)."""
    campaign = campaign_or_404(campaign_id)
    lang = current_lang()
    view = services.campaign_view(campaign, lang)
    data = diagnosis_csv(view.d, view.comparison, lang, charts.cause_name)
    return _csv(data, _filename(campaign, f"diagnosis-{lang}.csv"))


def _csv(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@bp.route("/campaigns/<int:campaign_id>/report.pdf")
@login_required
def report_pdf(campaign_id: int):
    """The client PDF report, for consultants and DX leads of the organisation.

    While comments wait for the classifier it explains why instead (409), with a link that
    renders anyway (``?allow_pending=1``); such a PDF states how many comments were left out.
    """
    campaign = campaign_or_404(campaign_id)
    from ..reports import PendingCommentsError, render_report_pdf

    lang = current_lang()
    try:
        pdf = render_report_pdf(campaign, lang=lang, allow_pending=request.args.get("allow_pending") == "1")
    except PendingCommentsError as exc:
        return render_template("dashboard/report_pending.html", campaign=campaign,
                               warning=pending_warning(exc.count, lang)), 409
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_filename(campaign, f"report-{lang}.pdf")}"',
        "Cache-Control": "no-store"})
