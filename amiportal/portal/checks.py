"""Deployment check: every file a static CSS or JS file refers to is there (issue 10, finding 2).

The production storage (``CompressedManifestStaticFilesStorage``) rewrites references to
hashed names at ``collectstatic``, and stops on the first file it cannot find, such as a
``sourceMappingURL`` whose map was not copied. ``check --deploy`` then passed while the
release could not collect its static files and every page answered 500. This check reads
the references with the storage's own patterns, so it sees what ``collectstatic`` will see.
"""

from __future__ import annotations

import posixpath
from fnmatch import fnmatch
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.checks import Error, Tags, register


def _external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc) or url.startswith(("#", "data:", "//"))


def _referenced_name(source_name: str, url: str) -> str:
    path = unquote(urlsplit(url).path)
    if path.startswith(settings.STATIC_URL) or path.startswith("/"):
        return posixpath.normpath(path.removeprefix("/").removeprefix(settings.STATIC_URL.strip("/")).lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_name), path))


def _references(content: str, compiled_patterns) -> list[str]:
    urls = []
    for regex, _template, ignored_re in compiled_patterns:
        # Django skips matches strictly inside comments and strings (a comment that *is* the match counts); so does this.
        ignored = [match.span() for match in ignored_re.finditer(content)] if ignored_re else []
        for match in regex.finditer(content):
            start = match.start()
            if not any(begin < start < end for begin, end in ignored):
                urls.append(match.group("url").strip())
    return urls


def missing_static_references() -> list[tuple[str, str]]:
    """(file, reference) for each reference in a static CSS/JS file to a static file that does not exist."""
    patterns = ManifestStaticFilesStorage(location="/nonexistent")._patterns
    missing = []
    for finder in finders.get_finders():
        for name, storage in finder.list(ignore_patterns=["CVS", ".*", "*~"]):
            compiled = [pattern for glob, patterns_of in patterns.items() if fnmatch(name, glob) for pattern in patterns_of]
            if not compiled:
                continue
            with storage.open(name) as handle:
                content = handle.read().decode("utf-8", errors="replace")
            for url in _references(content, compiled):
                if _external(url) or not urlsplit(url).path:
                    continue
                if finders.find(_referenced_name(name, url)) is None:
                    missing.append((name, url))
    return missing


@register(Tags.staticfiles, deploy=True)
def static_references_exist(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            f"Static file {name} refers to {url}, which is not among the static files: "
            "collectstatic with the manifest storage will fail, and every page that uses it will answer 500.",
            hint="Copy the referenced file too (for vendored libraries: see the Makefile's static-vendor step).",
            id="portal.E001",
        )
        for name, url in missing_static_references()
    ]
