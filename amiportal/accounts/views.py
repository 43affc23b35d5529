"""Sign-in, two-factor, step-up and session pages. Each view: validate, call a service, render."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from amiportal.accounts.forms import LoginForm, OneTimeCodeForm, StepUpForm, TotpConfirmForm
from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.roles import two_factor_mandatory, two_factor_required
from amiportal.accounts.selectors import backup_codes_remaining, totp_devices_for_user, user_has_confirmed_device
from amiportal.accounts.sensitive_actions import SENSITIVE_ACTIONS
from amiportal.accounts.services.authentication import audit_user_event, login_attempt, logout_current, sessions_logout_everywhere
from amiportal.accounts.services.two_factor import (
    backup_codes_generate,
    step_up_mark_fresh,
    step_up_verify,
    totp_device_remove,
    totp_enrolment_confirm,
    totp_enrolment_start,
    two_factor_verify,
)
from amiportal.accounts.stepup import step_up_required

GENERIC_LOGIN_ERROR = "That email and password do not match an account we can sign in."


def _safe_next(request, default: str = "portal:home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@sensitive_post_parameters("password")
def login_view(request):
    if request.user.is_authenticated and request.user.is_verified():
        return redirect("portal:home")
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        outcome = login_attempt(request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"])
        if outcome.user is not None:
            if two_factor_required(outcome.user):
                if user_has_confirmed_device(user=outcome.user):
                    return redirect("accounts:two_factor_verify")
                # The password was checked this instant: it is the fresh check for the enrolment that finishes sign-in.
                step_up_mark_fresh(request=request)
                return redirect("accounts:two_factor_setup")
            return redirect(_safe_next(request))
        minutes = max(1, round(outcome.locked_seconds / 60))
        form.add_error(
            None,
            f"Too many attempts. Sign-in is paused; try again in about {minutes} minute(s)."
            if outcome.locked_seconds
            else GENERIC_LOGIN_ERROR,
        )
        status = 429 if outcome.locked_seconds else 200
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout_view(request):
    logout_current(request=request)
    messages.info(request, "You have signed out.")
    return redirect("accounts:login")


@require_POST
@login_required
def logout_everywhere_view(request):
    sessions_logout_everywhere(request=request)
    messages.info(request, "You have been signed out on every device and browser.")
    return redirect("accounts:login")


@login_required
def two_factor_verify_view(request):
    if request.user.is_verified():
        return redirect("portal:home")
    if not user_has_confirmed_device(user=request.user):
        return redirect("accounts:two_factor_setup")
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified, signed_out = two_factor_verify(request=request, token=form.cleaned_data["code"])
        if verified:
            return redirect(_safe_next(request))
        if signed_out:
            messages.error(request, "Too many wrong codes. You have been signed out; sign in again in a few minutes.")
            return redirect("accounts:login")
        form.add_error("code", "That code is not valid. Codes change every 30 seconds; backup codes work once.")
    return render(request, "accounts/two_factor_verify.html", {"form": form})


@login_required
@step_up_required("two_factor.enrol")
def two_factor_setup_view(request):
    # A user who already has a factor must prove it before adding another.
    if user_has_confirmed_device(user=request.user) and not request.user.is_verified():
        return redirect("accounts:two_factor_verify")
    device = totp_enrolment_start(request=request)
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_enrolment_confirm(request=request, device=device, token=form.cleaned_data["code"].replace(" ", ""))
        if codes is not None:
            return render(request, "accounts/backup_codes.html", {"codes": codes, "just_enrolled": True})
        form.add_error("code", "That code did not match. Check the phone's clock and try the next code.")
    qr = segno.make(device.config_url, error="m")
    secret_b32 = device.config_url.split("secret=")[1].split("&")[0]
    context = {
        "form": form,
        "qr_svg": qr.svg_inline(scale=5, dark="#111", light="#fff", title="QR code to add AMI Portal to an authenticator app"),
        "secret_groups": " ".join(secret_b32[i : i + 4] for i in range(0, len(secret_b32), 4)),
        "mandatory": two_factor_mandatory(request.user),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
def security_view(request):
    context = {
        "devices": totp_devices_for_user(user=request.user),
        "backup_codes_remaining": backup_codes_remaining(user=request.user),
        "two_factor_mandatory": two_factor_mandatory(request.user),
    }
    return render(request, "accounts/security.html", context)


@require_POST
@login_required
@step_up_required("two_factor.backup_codes")
def backup_codes_regenerate_view(request):
    if not user_has_confirmed_device(user=request.user):
        messages.error(request, "Set up an authenticator app first.")
        return redirect("accounts:security")
    codes = backup_codes_generate(user=request.user)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "just_enrolled": False})


@require_POST
@login_required
@step_up_required("two_factor.remove")
def totp_device_remove_view(request, device_id: int):
    device = get_object_or_404(SealedTOTPDevice, pk=device_id, user=request.user)
    if two_factor_mandatory(request.user) and totp_devices_for_user(user=request.user).count() <= 1:
        messages.error(request, "Your role requires two-factor sign-in: add another authenticator before removing this one.")
        return redirect("accounts:security")
    totp_device_remove(request=request, device_id=device.pk)
    messages.info(request, "Authenticator removed.")
    return redirect("accounts:security")


@login_required
def step_up_view(request):
    form = StepUpForm(request.POST or None)
    uses_otp = user_has_confirmed_device(user=request.user)
    action = SENSITIVE_ACTIONS.get(request.GET.get("action", ""))
    if request.method == "POST" and form.is_valid():
        if step_up_verify(request=request, secret=form.cleaned_data["secret"]):
            if action is not None:
                messages.info(request, f"Confirmed. You can now {action.description}.")
            return redirect(_safe_next(request))
        form.add_error("secret", "That did not match. Try again.")
    context = {"form": form, "uses_otp": uses_otp, "next": request.GET.get("next", ""), "action": action}
    return render(request, "accounts/step_up.html", context)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_user_event(user=self.request.user, action="auth.password_changed")
        messages.info(self.request, "Password changed. Other sessions have been signed out.")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Never signs the user in: after a reset they sign in again, second factor included."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_user_event(user=form.user, action="auth.password_reset")
        return response
