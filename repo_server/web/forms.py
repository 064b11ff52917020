"""The forms of the approval pages (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Sign in with a user name and password."""

    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField("Sign in")


class DecisionForm(FlaskForm):  # type: ignore[misc]
    """Approve or refuse a request (accept or reject, with the report, for an acceptance)."""

    comment = TextAreaField("Comment", validators=[Length(max=10_000)])
    report = FileField("Test report")
    approve = SubmitField("Approve")
    refuse = SubmitField("Refuse")


class SignOutForm(FlaskForm):  # type: ignore[misc]
    """Sign out (a POST, so that no link can sign a person out)."""

    submit = SubmitField("Sign out")
