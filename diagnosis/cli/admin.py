"""Administration commands: organisations, users, campaigns, classification runs, corrections,
the demo workspace, survey links and invitations."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask

from ..extensions import db
from .common import campaign_or_fail, organisation_or_fail
from .common import parse_date as _date


def init_app(app: Flask) -> None:
    """Register the project's commands."""
    from ..workspace import (
        WorkspaceError,
        create_campaign,
        create_organisation,
        create_user,
        survey_url,
    )

    @app.cli.command("create-org")
    @click.argument("name")
    @click.option("--employees", type=int, required=True, help="Number of employees.")
    @click.option("--rollout", help="Date the AI tool was rolled out (YYYY-MM-DD).")
    @click.option("--name-en", help="English name.")
    @click.option("--tool", help="AI tool, e.g. 'Microsoft Copilot'.")
    @click.option("--consultant", "consultants", multiple=True, help="E-mail of a consultant to assign.")
    def create_org_cmd(name, employees, rollout, name_en, tool, consultants):
        """Create a client organisation."""
        from ..workspace import find_user

        try:
            org = create_organisation(name, employees, _date(rollout), name_en, tool)
            for email in consultants:
                user = find_user(email)
                if user is None:
                    raise WorkspaceError(f"no user {email}")
                user.organisations.append(org)
            db.session.commit()
        except WorkspaceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"organisation {org.id}: {org.name}")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default=None)
    @click.option("--role", type=click.Choice(["consultant", "dx_lead"]), required=True)
    @click.option("--org", "orgs", multiple=True, help="Organisation id or name (repeatable).")
    @click.password_option(envvar="TEICHAKU_NEW_PASSWORD", help="Password (or TEICHAKU_NEW_PASSWORD).")
    def create_user_cmd(email, name, role, orgs, password):
        """Create a consultant or DX lead login."""
        organisations = []
        for ref in orgs:
            org = organisation_or_fail(ref)
            organisations.append(org)
        if role == "dx_lead" and len(organisations) != 1:
            raise click.ClickException("a DX lead belongs to exactly one organisation (--org)")
        try:
            user = create_user(email, name or email, role, password, organisations)
            db.session.commit()
        except WorkspaceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"user {user.id}: {user.email} ({user.role})")

    def _user_or_fail(email: str):
        from ..workspace import find_user

        user = find_user(email)
        if user is None:
            raise click.ClickException(f"no user {email}")
        return user

    @app.cli.command("set-password")
    @click.argument("email")
    @click.password_option(envvar="TEICHAKU_NEW_PASSWORD", help="New password (or TEICHAKU_NEW_PASSWORD).")
    def set_password_cmd(email, password):
        """Give a user a new password; their existing sessions end."""
        from ..workspace import set_user_password

        user = _user_or_fail(email)
        try:
            set_user_password(user, password)
        except WorkspaceError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"password changed for {user.email}; their other sessions were ended")

    @app.cli.command("deactivate-user")
    @click.argument("email")
    def deactivate_user_cmd(email):
        """Stop a user logging in and end their sessions (their corrections and notes stay)."""
        user = _user_or_fail(email)
        user.active = False
        user.revoke_sessions()
        db.session.commit()
        click.echo(f"user {user.email} deactivated")

    @app.cli.command("totp-enrol")
    @click.argument("email")
    def totp_enrol_cmd(email):
        """Turn on a consultant's second factor and print its secret once (scan it now)."""
        import io

        import qrcode

        from ..auth import new_totp_secret, totp_uri

        user = _user_or_fail(email)
        if not user.is_consultant:
            raise click.ClickException("two-step verification is offered to consultants only")
        user.totp_secret = new_totp_secret()
        user.totp_last_step = None
        user.revoke_sessions()  # a changed login method ends the sessions opened without it
        db.session.commit()
        uri = totp_uri(user)
        qr = qrcode.QRCode(border=1)
        qr.add_data(uri)
        out = io.StringIO()
        qr.print_ascii(out=out)
        click.echo(out.getvalue())
        click.echo(f"otpauth URI: {uri}")
        click.echo(f"secret:      {user.totp_secret}")
        click.echo("認証アプリでQRコードを読み取るか、シークレットを入力してください。この表示は一度だけです。")
        click.echo("Scan the QR code or type the secret into an authenticator app. It is shown only once.")

    @app.cli.command("totp-disable")
    @click.argument("email")
    def totp_disable_cmd(email):
        """Turn off a user's second factor (e.g. a lost phone); their sessions end."""
        user = _user_or_fail(email)
        user.totp_secret = None
        user.totp_last_step = None
        user.revoke_sessions()
        db.session.commit()
        click.echo(f"two-step verification turned off for {user.email}")

    @app.cli.command("create-campaign")
    @click.argument("org")
    @click.argument("slug")
    @click.option("--name", default=None)
    @click.option("--questionnaire", default="ai-adoption", show_default=True)
    @click.option("--opens", default=None, help="YYYY-MM-DD (default today).")
    @click.option("--closes", default=None, help="YYYY-MM-DD.")
    @click.option("--languages", default="ja,en", show_default=True)
    def create_campaign_cmd(org, slug, name, questionnaire, opens, closes, languages):
        """Create a survey wave for ORG (id or name) and print its survey link."""
        organisation = organisation_or_fail(org)
        try:
            campaign = create_campaign(organisation, slug, name or slug, questionnaire,
                                       _date(opens), _date(closes), languages)
            db.session.commit()
        except WorkspaceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"campaign {campaign.slug} ({campaign.state()})")
        click.echo(f"survey link: {survey_url(campaign)}")

    @app.cli.command("classify-pending")
    @click.option("--limit", type=int, default=None)
    @click.option("--stale", is_flag=True,
                  help="Also relabel comments classified by another model version than the active one.")
    def classify_pending_cmd(limit, stale):
        """Classify every stored comment that has not been classified yet."""
        from ..classification import classify_pending, pending_count, reclassify_stale, stale_count
        from ..progress import progress

        total = pending_count()
        with progress(total if limit is None else min(total, limit), "classifying", "comment") as bar:
            n = classify_pending(limit=limit, on_progress=bar.update)
        click.echo(f"classified {n} comment(s)")
        if stale:
            with progress(stale_count(), "relabelling", "comment") as bar:
                relabelled = reclassify_stale(on_progress=bar.update)
            click.echo(f"relabelled {relabelled} comment(s) classified by another model version")

    @app.cli.command("demo")
    @click.option("--responses", type=int, default=320, show_default=True)
    @click.option("--no-classify", is_flag=True, help="Leave comments pending.")
    def demo_cmd(responses, no_classify):
        """Create (or refresh) the demo workspace; safe to run again."""
        from ..demo import build_demo

        if app.config.get("ENV_NAME") != "development" and not app.testing:
            # The demo logins have published passwords: never create them on a real server.
            raise click.ClickException("the demo workspace is for development only")
        info = build_demo(n_responses=responses, classify=not no_classify, echo=click.echo)
        base = app.config["PUBLIC_BASE_URL"].rstrip("/")
        click.echo("")
        click.echo(f"Survey (employee):   {info['survey_url']}")
        click.echo(f"Dashboard:           {base}/campaigns/{info['campaign_id']}")
        click.echo(f"Consultant login:    {info['consultant'][0]} / {info['consultant'][1]}")
        click.echo(f"DX lead login:       {info['dx_lead'][0]} / {info['dx_lead'][1]}")

    @app.cli.group("corrections")
    def corrections_group():
        """Labelled comments: human corrections and self-labelled examples."""

    @corrections_group.command("import")
    @click.argument("org_ref", metavar="ORG")
    @click.argument("file", type=click.File("r", encoding="utf-8-sig"))
    def corrections_import_cmd(org_ref, file):
        """Store labelled comments (JSON Lines {"text", "label"}) as ORG's reviewed comments.

        They train and measure ORG's adapted classifier only, outside any campaign's responses:
        no diagnosis shows them. Nothing is stored if a line is invalid."""
        from ..adaptation import ImportProblem, import_examples, read_examples, reviewed_count

        org = organisation_or_fail(org_ref)
        try:
            pairs = read_examples(file)
        except ImportProblem as exc:
            raise click.ClickException(f"{file.name}: {exc}") from None
        n = import_examples(org.id, pairs, os.path.basename(file.name))
        click.echo(f"imported {n} reviewed comment(s) for {org.name} "
                   f"({reviewed_count(org.id)} in all); run `teichaku adapt {org.id}` to use them")

    @corrections_group.command("export")
    @click.option("--self-labelled", is_flag=True,
                  help="Comments whose writer's own reason checklist named one cause (weak labels).")
    @click.option("--org", "org_ref", help="Only this organisation (id or exact name).")
    @click.option("--campaign", "campaign_slug", help="Only this campaign (slug).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                  help="Write JSON Lines here instead of standard output.")
    def corrections_export_cmd(self_labelled, org_ref, campaign_slug, output):
        """Export labelled comments as JSON Lines (one example per line, with its organisation)."""
        import json

        from ..store.corrections import export_rows

        org_id = campaign_id = None
        if org_ref:
            org = organisation_or_fail(org_ref)
            org_id = org.id
        if campaign_slug:
            campaign = campaign_or_fail(campaign_slug)
            campaign_id = campaign.id
        rows = export_rows(self_labelled=self_labelled, organisation_id=org_id,
                           campaign_id=campaign_id)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            click.echo(text, nl=False)
        kind = "self-labelled" if self_labelled else "corrected"
        click.echo(f"exported {len(rows)} {kind} comment(s)" + (f" to {output}" if output else ""),
                   err=True)

    @app.cli.command("campaign-link")
    @click.argument("slug")
    def campaign_link_cmd(slug):
        """Print the survey link of a campaign."""
        campaign = campaign_or_fail(slug)
        click.echo(survey_url(campaign))

    @app.cli.command("invite")
    @click.argument("slug")
    @click.option("-n", "--count", type=click.IntRange(0, 100_000), required=True,
                  help="Number of personal links to create (0: only change --invitation-only/--public).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), default="-", show_default=True,
                  help="CSV file to write (refuses to overwrite); '-' for standard output.")
    @click.option("--invitation-only/--public", "invitation_only", default=None,
                  help="Refuse (or accept again) the campaign's public link.")
    def invite_cmd(slug, count, output, invitation_only):
        """Create COUNT single-use personal survey links for a campaign, as CSV (number,link).

        The links are printed once and never stored (only a hash is): hand them out without
        keeping a list of who got which, and nobody can tell who has answered.
        """
        import csv
        import os

        from ..invitations import create_invitations, invitation_counts, invitation_url

        campaign = campaign_or_fail(slug)
        if output != "-" and os.path.exists(output):
            # Overwriting would lose links that are already valid and shown nowhere else.
            raise click.ClickException(f"{output} exists; choose another file")
        codes = create_invitations(campaign, count) if count else []
        if invitation_only is not None:
            campaign.invitation_only = invitation_only
        if output == "-":
            stream = sys.stdout
        else:
            # Each link lets one person answer: readable by the owner only.
            stream = os.fdopen(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                               "w", newline="", encoding="utf-8")
        try:
            if codes:
                writer = csv.writer(stream, lineterminator="\n")
                writer.writerow(["number", "link"])
                writer.writerows((n, invitation_url(code)) for n, code in enumerate(codes, 1))
        finally:
            if stream is not sys.stdout:
                stream.close()
        db.session.commit()
        issued, used = invitation_counts(campaign)
        access = "personal links only" if campaign.invitation_only else "public link and personal links"
        click.echo(f"campaign {campaign.slug}: {len(codes)} link(s) created, {issued} issued, "
                   f"{used} used; accepts {access}", err=True)
