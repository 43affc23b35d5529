from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from amiportal.accounts.services.sign_in_throttle import throttle_rows_prune


@shared_task(acks_late=True)
def sessions_clear_expired_task() -> int:
    """Delete expired sessions and quiet sign-in throttle rows (beat, every six hours). Safe to run twice."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted + throttle_rows_prune()
