"""Step-up re-verification for sensitive actions.

Use ``@step_up_required()`` on a view (or ``StepUpRequiredMixin`` on a class
view): unless the user re-verified (one-time code, or password when they have
no second factor) within the last N minutes, they are sent to re-verify and
then back to where they were going.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from amiportal.accounts.services.two_factor import step_up_is_fresh


def _redirect_to_step_up(request):
    return redirect(f"{reverse('accounts:step_up')}?{urlencode({'next': request.get_full_path()})}")


def step_up_required(minutes: int | None = None):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not step_up_is_fresh(request=request, minutes=minutes):
                return _redirect_to_step_up(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class StepUpRequiredMixin:
    step_up_minutes: int | None = None

    def dispatch(self, request, *args, **kwargs):
        if not step_up_is_fresh(request=request, minutes=self.step_up_minutes):
            return _redirect_to_step_up(request)
        return super().dispatch(request, *args, **kwargs)
