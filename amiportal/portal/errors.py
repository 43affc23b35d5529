"""Error pages inside the portal's layout (templates/400.html, 403.html, 404.html, 500.html come from Django's defaults).

The CSRF failure gets its own view, because Django's renders its template without the request,
so the page would lose the header and the signed-in person's navigation.
"""

from __future__ import annotations

from django.shortcuts import render


def csrf_failure_view(request, reason: str = ""):
    # The reason (for example "CSRF token missing") is for logs, not for the page: it helps no customer.
    return render(request, "403_csrf.html", {"cookies_enabled": bool(request.COOKIES)}, status=403)
