"""The forms of the approval pages (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Sign in with a user name and password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class DecisionForm(FlaskForm):  # type: ignore[misc]
    """Approve or refuse a request (accept or reject, with the report, for an acceptance)."""

    comment = TextAreaField(_l("Comment"), validators=[Length(max=10_000)])
    report = FileField(_l("Test report"))
    approve = SubmitField(_l("Approve"))
    refuse = SubmitField(_l("Refuse"))


class SignOutForm(FlaskForm):  # type: ignore[misc]
    """Sign out (a POST, so that no link can sign a person out)."""

    submit = SubmitField(_l("Sign out"))


class StandInForm(FlaskForm):  # type: ignore[misc]
    """Name a stand-in who decides in my place until a day (to its end, in my time zone)."""

    stand_in = StringField(_l("Stand-in (user name)"), validators=[DataRequired(), Length(max=64)])
    until = DateField(_l("Until (inclusive)"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Length(max=1000)])
    submit = SubmitField(_l("Name stand-in"))


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """End a stand-in appointment now."""

    submit = SubmitField(_l("Revoke"))


class NotificationForm(FlaskForm):  # type: ignore[misc]
    """Which mail I get."""

    awaiting = BooleanField(_l("A request waits for my decision"))
    decided = BooleanField(_l("A request of mine was decided"))
    reminders = BooleanField(_l("Reminders of requests waiting too long"))
    submit = SubmitField(_l("Save"))


class RetireForm(FlaskForm):  # type: ignore[misc]
    """Retire a checked-in version: no further check-out; the record and files stay."""

    reason = StringField(_l("Reason"), validators=[Length(max=1000)])
    submit = SubmitField(_l("Retire"))


class LanguageForm(FlaskForm):  # type: ignore[misc]
    """The language and time zone of my pages and mail."""

    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("as my browser asks")),
            SelectChoice("en", "English"),
            SelectChoice("zh-CN", "中文（简体）"),
        ],
        validators=[AnyOf(["", "en", "zh-CN"])],
    )
    time_zone = StringField(
        _l("Time zone (e.g. Asia/Shanghai; empty: the server's)"), validators=[Length(max=64)]
    )
    submit = SubmitField(_l("Save"))
