"""Email through Django's mail backends (console in development, SMTP in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from amiportal.notifications.channels.base import ChannelError

NAME = "email"
LABEL = "Email"
ENABLED = True
DISABLED_REASON = ""
IMMEDIATE = False


def missing_target(user) -> str:
    return "" if user.email else "there is no email address on the account"


def deliver(notification) -> None:
    context = {"notification": notification, "paragraphs": notification.body.split("\n\n"), "site": settings.AMI_SITE_URL}
    message = EmailMultiAlternatives(
        subject=notification.title,
        body=render_to_string("notifications/email.txt", context),
        to=[notification.user.email],
    )
    message.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    try:
        message.send()
    except OSError as error:  # SMTP and socket errors: the next attempt may get through
        raise ChannelError(f"{type(error).__name__}: {error}") from error
