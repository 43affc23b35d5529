from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from amiportal import converters

# Before any app's URLs are built: they use <id:...> for row ids.
converters.register()

# The admin sits behind the same sign-in and two-factor as every other page.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "AMI Portal administration"
admin.site.login = lambda request, extra_context=None: redirect(f"/accounts/login/?next={request.get_full_path()}")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("amiportal.accounts.urls")),
    path("han/", include("han.urls")),
    path("", include("amiportal.portal.urls")),
    path("", include("amiportal.premises.urls")),
    path("", include("amiportal.notifications.urls")),
    path("", include("billing.urls")),
    path("", include("billing.advice.urls")),
    path("", include("thirdparty.urls")),
]
