"""Killing tokens: for one consent, or for a whole client at once."""

from __future__ import annotations

from django.db import transaction
from oauth2_provider.models import AccessToken, Grant, RefreshToken


@transaction.atomic
def _revoke(access_tokens, refresh_tokens, grants) -> int:
    count = access_tokens.count()
    for refresh in refresh_tokens.filter(revoked__isnull=True):
        refresh.revoke()  # also deletes its access token
    access_tokens.delete()
    grants.delete()
    return count


def tokens_revoke_for_consent(*, consent) -> int:
    """Every access token, refresh token and unused code bound to the consent. Returns the access tokens killed."""
    access = AccessToken.objects.filter(consent_binding__consent=consent)
    refresh = RefreshToken.objects.filter(access_token__consent_binding__consent=consent)
    grants = Grant.objects.filter(consent_binding__consent=consent)
    return _revoke(access, refresh, grants)


def tokens_revoke_for_application(*, application) -> int:
    oauth_application = application.oauth_application_id
    access = AccessToken.objects.filter(application_id=oauth_application)
    refresh = RefreshToken.objects.filter(application_id=oauth_application)
    grants = Grant.objects.filter(application_id=oauth_application)
    return _revoke(access, refresh, grants)
