"""The review queue: one comment at a time, confirmed or corrected in one click or one key.

Every decision is a human label: the diagnosis uses it at once (``Comment.effective_label``) and
the organisation's adapted classifier learns from it (``diagnosis.adaptation``). Only comments the
comments browser may show are ever offered (the same anonymity rules, ``services.shown_comments``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..adaptation import schedule_adaptation
from ..adaptation import summary as adaptation_summary
from ..auth import campaign_or_404
from ..extensions import db
from ..i18n import translate
from ..store.corrections import CorrectionError, record_correction
from ..store.models import Campaign, Comment
from . import bp, services
from .forms import ConfirmForm, ReviewForm

UNDO_DEPTH = 20


def _undo_key(campaign: Campaign) -> str:
    return f"review_undo_{campaign.id}"


def _allowed(campaign: Campaign, comment_id: int) -> Comment | None:
    """A comment of this campaign that the browser may show (None otherwise)."""
    c = db.session.get(Comment, comment_id)
    if c is None or c.campaign_id != campaign.id:
        return None
    vis = services.comment_visibility(campaign)
    return c if services.shown_comments([c], vis) else None  # type: ignore[arg-type]


@bp.route("/campaigns/<int:campaign_id>/review")
@login_required
def review(campaign_id: int):
    """The next comment to review (or the one asked for with ``?at=``), with its neighbours."""
    campaign = campaign_or_404(campaign_id)
    vis = services.comment_visibility(campaign)
    state = services.review_state(campaign, vis)
    ids = [p.id for p in state.queue]
    at = request.args.get("at", type=int)
    current = None
    if at is not None and at in state.comments:
        current = state.comments[at]
    elif ids:
        current = state.comments[ids[0]]
    position = ids.index(current.id) if current is not None and current.id in ids else None
    prev_id = ids[position - 1] if position else None
    next_id = ids[position + 1] if position is not None and position + 1 < len(ids) else None
    if position is None and current is not None and ids:
        next_id = ids[0]
    pick_info = state.queue[position] if position is not None else None
    undo = session.get(_undo_key(campaign)) or []
    return render_template(
        "dashboard/review.html", campaign=campaign, state=state, current=current,
        pick_info=pick_info, position=position, remaining=state.waiting, prev_id=prev_id,
        next_id=next_id, form=ReviewForm(), can_undo=bool(undo),
        survey_hidden=not services.survey_comments_visible(vis),  # type: ignore[arg-type]
        min_comments_group=vis.thresholds.min_comments_group)


@bp.route("/campaigns/<int:campaign_id>/review/<int:comment_id>", methods=["POST"])
@login_required
def review_decide(campaign_id: int, comment_id: int):
    """Confirm the model's cause or give another: a reviewed comment; then the next one."""
    campaign = campaign_or_404(campaign_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    comment = _allowed(campaign, comment_id)
    if comment is None:
        abort(404)
    if form.shown.data and form.shown.data != comment.label:
        # Relabelled (an adaptation landed) while the page was open: the reviewer judged another
        # label than the one now stored. Show the comment again rather than guess.
        flash(translate("The model's call on this comment changed meanwhile; please look again."), "error")
        return redirect(url_for("dashboard.review", campaign_id=campaign.id, at=comment.id))
    label = form.label.data or comment.label
    if not label:
        abort(400)
    before = comment.corrected_label
    try:
        record_correction(comment, label, current_user.id)
    except CorrectionError:  # an unclear comment cannot be confirmed: it needs a cause
        flash(translate("This comment is unclear: choose a cause for it."), "error")
        return redirect(url_for("dashboard.review", campaign_id=campaign.id, at=comment.id))
    db.session.commit()
    stack = (session.get(_undo_key(campaign)) or [])[-(UNDO_DEPTH - 1):]
    stack.append([comment.id, before, label])
    session[_undo_key(campaign)] = stack
    schedule_adaptation(campaign.organisation_id)
    nxt = form.after.data
    target = {"at": int(nxt)} if nxt and nxt.isdigit() and int(nxt) != comment.id else {}
    return redirect(url_for("dashboard.review", campaign_id=campaign.id, **target))


@bp.route("/campaigns/<int:campaign_id>/review/undo", methods=["POST"])
@login_required
def review_undo(campaign_id: int):
    """Take back the last decision made here; that comment is shown again."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    stack = session.get(_undo_key(campaign)) or []
    if not stack:
        return redirect(url_for("dashboard.review", campaign_id=campaign.id))
    comment_id, before, made = (stack.pop() + [None])[:3]
    session[_undo_key(campaign)] = stack
    comment = _allowed(campaign, comment_id)
    if comment is None:
        abort(404)
    if made is not None and comment.corrected_label != made:
        # Someone (or another tab) changed this review since: their decision stands.
        flash(translate("This comment was changed since by someone else, so it was not taken back."), "error")
        return redirect(url_for("dashboard.review", campaign_id=campaign.id, at=comment.id))
    record_correction(comment, before, current_user.id if before else None)
    db.session.commit()
    flash(translate("The last decision was taken back."), "success")
    return redirect(url_for("dashboard.review", campaign_id=campaign.id, at=comment.id))


@bp.route("/campaigns/<int:campaign_id>/review/adapt", methods=["POST"])
@login_required
def review_adapt(campaign_id: int):
    """Teach the organisation's classifier now, with every review so far."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if schedule_adaptation(campaign.organisation_id, force=True):
        flash(translate("The classifier is being taught; when it is done, the comments are relabelled "
                        "and the diagnosis follows."), "success")
    else:
        view = adaptation_summary(campaign.organisation_id)
        flash(translate("Teaching needs at least {min} reviewed comments and new ones ({new} new).",
                        min=view["min_reviewed"], new=view["new"]), "error")
    return redirect(url_for("dashboard.review", campaign_id=campaign.id))
