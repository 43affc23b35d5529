"""Killing tokens: for one consent, or for a whole client at once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from thirdparty.selectors import ended_token_digest


def _remember_ended(access_tokens) -> None:
    """So a later call with a token that died with its consent shows in the customer's access log (as refused)."""
    from thirdparty.models import EndedToken

    now = timezone.now()
    rows = [
        EndedToken(token_digest=ended_token_digest(checksum), consent_id=consent_id, token_expires=expires)
        for checksum, consent_id, expires in access_tokens.filter(consent_binding__isnull=False, expires__gt=now).values_list(
            "token_checksum", "consent_binding__consent_id", "expires"
        )
    ]
    EndedToken.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def _revoke(access_tokens, refresh_tokens, grants) -> int:
    count = access_tokens.count()
    _remember_ended(access_tokens)
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


def token_records_prune(*, now=None) -> int:
    """Forget what is no longer needed: dead tokens past their own expiry, redeemed codes past the refresh lifetime.

    A call with such a token is then just an unknown token; a code replayed that late finds
    no token left to revoke (refresh tokens issued from it have expired).
    """
    from datetime import timedelta

    from oauth2_provider.settings import oauth2_settings

    from thirdparty.models import EndedToken, RedeemedCode

    now = now or timezone.now()
    tokens, _ = EndedToken.objects.filter(token_expires__lt=now).delete()
    horizon = now - timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
    codes, _ = RedeemedCode.objects.filter(redeemed_at__lt=horizon).delete()
    return tokens + codes
