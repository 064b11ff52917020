"""The forms of the approval pages (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    StringField,
    SubmitField,
    TextAreaField,
)
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


class StandInForm(FlaskForm):  # type: ignore[misc]
    """Name a stand-in who decides in my place until a day (to its end, UTC)."""

    stand_in = StringField("Stand-in (user name)", validators=[DataRequired(), Length(max=64)])
    until = DateField("Until (inclusive)", validators=[DataRequired()])
    reason = StringField("Reason", validators=[Length(max=1000)])
    submit = SubmitField("Name stand-in")


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """End a stand-in appointment now."""

    submit = SubmitField("Revoke")


class NotificationForm(FlaskForm):  # type: ignore[misc]
    """Which mail I get."""

    awaiting = BooleanField("A request waits for my decision")
    decided = BooleanField("A request of mine was decided")
    reminders = BooleanField("Reminders of requests waiting too long")
    submit = SubmitField("Save")
