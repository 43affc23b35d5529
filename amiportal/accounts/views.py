"""Sign-in, two-factor, step-up and session pages. Each view: validate, call a service, render."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from amiportal.accounts.client_address import client_address
from amiportal.accounts.forms import LoginForm, OneTimeCodeForm, StepUpForm, TotpConfirmForm
from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.roles import two_factor_mandatory, two_factor_required
from amiportal.accounts.selectors import backup_codes_remaining, totp_devices_for_user, user_has_confirmed_device
from amiportal.accounts.sensitive_actions import SENSITIVE_ACTIONS
from amiportal.accounts.services.authentication import audit_user_event, login_attempt, logout_current, sessions_logout_everywhere
from amiportal.accounts.services.password_reset import password_reset_request
from amiportal.accounts.services.two_factor import (
    backup_codes_generate,
    devices_retry_wait_seconds,
    step_up_mark_fresh,
    step_up_verify,
    totp_device_remove,
    totp_enrolment_confirm,
    totp_enrolment_start,
    two_factor_verify,
)
from amiportal.accounts.stepup import step_up_required
from amiportal.portal.confirm import confirmation_given, confirmation_page

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
    outcome = None
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
        form.add_error(
            None,
            f"Too many attempts. Sign-in is paused; try again in {wait_phrase(outcome.locked_seconds)}."
            if outcome.locked_seconds
            else GENERIC_LOGIN_ERROR,
        )
    response = render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})
    return _too_many(response, outcome.locked_seconds) if outcome is not None and outcome.locked_seconds else response


def wait_phrase(seconds: int) -> str:
    """How long to wait, in words a person reads at a glance."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"about {round(seconds / 60)} minutes"


def _too_many(response, seconds: int):
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response


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
        outcome = two_factor_verify(request=request, token=form.cleaned_data["code"])
        if outcome.verified:
            return redirect(_safe_next(request))
        if outcome.signed_out:
            messages.error(request, "Too many wrong codes. You have been signed out; sign in again in a few minutes.")
            return redirect("accounts:login")
        if outcome.wait_seconds:
            wait = wait_phrase(outcome.wait_seconds)
            form.add_error("code", f"After a wrong code, wait {wait} before the next one. Your code was not checked.")
            return _too_many(render(request, "accounts/two_factor_verify.html", {"form": form}), outcome.wait_seconds)
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
    if not confirmation_given(request):
        return confirmation_page(
            request,
            title="Make new backup codes?",
            consequences=["Your current backup codes stop working at once, including any you printed or saved. Keep the new ones safe."],
            button="Make new backup codes",
            cancel_url=reverse("accounts:security"),
            cancel_label="Keep my current codes",
        )
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
    if not confirmation_given(request):
        return confirmation_page(
            request,
            title=f"Remove the authenticator “{device.name}”?",
            consequences=["Its codes stop working for signing in and for confirming sensitive actions. This cannot be undone."],
            button="Remove authenticator",
            cancel_url=reverse("accounts:security"),
            cancel_label="Keep it",
        )
    totp_device_remove(request=request, device_id=device.pk)
    messages.info(request, "Authenticator removed.")
    return redirect("accounts:security")


@login_required
def step_up_view(request):
    form = StepUpForm(request.POST or None)
    uses_otp = user_has_confirmed_device(user=request.user)
    action = SENSITIVE_ACTIONS.get(request.GET.get("action", ""))
    if request.method == "POST" and form.is_valid():
        wait = devices_retry_wait_seconds(user=request.user) if uses_otp else 0
        if wait:
            form.add_error("secret", f"After a wrong code, wait {wait_phrase(wait)} before the next one. Your code was not checked.")
            context = {"form": form, "uses_otp": uses_otp, "next": request.GET.get("next", ""), "action": action}
            return _too_many(render(request, "accounts/step_up.html", context), wait)
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


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        decision = password_reset_request(email=form.cleaned_data["email"], address=client_address(self.request))
        if decision.wait_seconds:
            form.add_error(None, f"Too many reset requests from your network. Try again in {wait_phrase(decision.wait_seconds)}.")
            return _too_many(self.form_invalid(form), decision.wait_seconds)
        if not decision.send:
            # Looks exactly like a sent link: the answer must not tell whether the account exists.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Never signs the user in: after a reset they sign in again, second factor included."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_user_event(user=form.user, action="auth.password_reset")
        return response
