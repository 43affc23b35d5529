"""What a customer reads about their own account: audit entries told in plain words.

Each area (sign-in and security, staff access, premises, home network, third parties,
billing) has its own module with a ``PHRASES`` mapping from audit action to a function
that words one entry, and a ``FALLBACK`` sentence for an action it does not know yet.
``registry.py`` joins them; ``selectors.py`` is what views call.
"""
