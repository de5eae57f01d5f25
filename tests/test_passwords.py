"""Password policy: the same rule in the service, the CLI and the web form, in ja and en."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, login
from sqlalchemy import select

from diagnosis.demo import CONSULTANT, DX_LEAD
from diagnosis.extensions import db
from diagnosis.passwords import password_problem
from diagnosis.store.models import User
from diagnosis.workspace import WeakPasswordError, create_user

WEAK = {
    "aaaaaaaaaa": "password.weak",
    " " * 10: "password.blank",
    "\t \u3000" * 4: "password.blank",
    "password12": "password.weak",
    "1234567890": "password.weak",
    "qwertyuiop": "password.weak",
    "Password1!": "password.weak",
    "short-pw": "password.too_short",
    "": "password.blank",
}


@pytest.mark.parametrize("password,key", WEAK.items())
def test_weak_passwords_are_refused(password, key):
    assert password_problem(password) == key


@pytest.mark.parametrize("password", [PASSWORD, CONSULTANT[1], DX_LEAD[1], "e2e-password-2026",
                                      "plum-orbit-canvas-42", "long-enough-pw"])
def test_project_and_demo_passwords_pass(password):
    assert password_problem(password) is None


def test_the_e_mail_and_name_count_as_guessable():
    assert password_problem("kato-consultant") is None
    assert password_problem("kato-consultant", ["kato@consultant.example", "Kato"]) == "password.weak"


def test_service_refuses_weak_passwords_in_both_languages(app):
    with app.app_context(), pytest.raises(WeakPasswordError) as err:
        create_user("x@example.com", "X", "consultant", "password12")
    assert "推測されやすい" in str(err.value) and "too easy to guess" in str(err.value)


def test_cli_refuses_weak_passwords(app, runner, world):
    r = runner.invoke(args=["create-user", "new@example.com", "--role", "consultant",
                            "--password", "1234567890"])
    assert r.exit_code != 0 and "推測されやすい" in r.output and "too easy to guess" in r.output
    r = runner.invoke(args=["set-password", world["lead_a"], "--password", " " * 12])
    assert r.exit_code != 0 and "空白だけ" in r.output and "only spaces" in r.output
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email == "new@example.com")).first() is None
        assert db.session.scalars(select(User).where(User.email == world["lead_a"])).one().check_password(PASSWORD)


@pytest.mark.parametrize("lang,message", [("ja", "推測されやすいため"), ("en", "too easy to guess")])
def test_new_user_form_refuses_weak_passwords(app, client, world, lang, message):
    login(client, world["consultant"])
    r = client.post(f"/orgs/{world['org_a']}/users/new?lang={lang}",
                    data={"email": "weak@example.com", "name": "Weak", "password": "password12"})
    assert r.status_code == 200 and message in r.get_data(as_text=True)
    r = client.post(f"/orgs/{world['org_a']}/users/new?lang={lang}",
                    data={"email": "blank@example.com", "name": "Blank", "password": " " * 10})
    assert ("空白だけ" if lang == "ja" else "only spaces") in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email.in_(
            ["weak@example.com", "blank@example.com"]))).first() is None
