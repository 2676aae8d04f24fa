"""The only way a report PDF loads anything: the project's own static files, read from disk.

WeasyPrint asks its URL fetcher for every stylesheet, image and font a document names. A report's rows are other
people's text, so a document must never reach the network or the file system through it: this fetcher serves a URL
under STATIC_URL from the static files (the finders, then the collected files) and a data: URL (the chart, whose bytes
are in the URL itself), and refuses every other URL before anything is opened. No request is made, so there is no
redirect to follow either.
"""

import base64
import binascii
import mimetypes
import posixpath
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The document's base URL: relative URLs such as STATIC_URL's "/static/..." resolve against it. The .invalid name can
# never resolve (RFC 2606), and the fetcher never asks the network anyway.
BASE_URL = "https://report.invalid/"


class RefusedURLError(ValueError):
    """A URL the report PDF may not load. WeasyPrint records it as a warning and leaves the resource out."""


def static_name(url: str) -> str | None:
    """The static file's name ("reports/report-pdf.css") a URL points at, or None when it points elsewhere."""
    static_url = settings.STATIC_URL or "/static/"
    parts = urlsplit(url)
    if urlsplit(static_url).scheme:
        # An absolute STATIC_URL (a CDN): its files are still ours, read locally.
        location = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if not location.startswith(static_url):
            return None
        name = location[len(static_url) :]
    else:
        base = urlsplit(BASE_URL)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(static_url):
            return None
        name = parts.path[len(static_url) :]
    name = unquote(name)
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    if any(segment in ("", ".", "..") for segment in name.split("/")) or posixpath.normpath(name) != name:
        return None
    return name


def static_file(name: str) -> Path | None:
    """The file on disk serving a static name: found in the static directories, else among the collected files (where
    hashed names from a manifest storage live)."""
    try:
        found = finders.find(name)
    except SuspiciousFileOperation:
        return None
    if isinstance(found, str) and Path(found).is_file():
        return Path(found)
    try:
        if staticfiles_storage.exists(name):
            collected = Path(staticfiles_storage.path(name))
            if collected.is_file():
                return collected
    except (NotImplementedError, SuspiciousFileOperation):
        pass
    return None


def data_url(url: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a data: URL (RFC 2397), or None when it is not one or is malformed."""
    if url[:5].lower() != "data:" or "," not in url:
        return None
    header, payload = url[5:].split(",", 1)
    media_type = header.split(";", 1)[0].strip() or "text/plain"
    if header.lower().endswith(";base64"):
        try:
            return media_type, base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return None
    return media_type, unquote_to_bytes(payload)


class StaticFilesOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves the project's static files and data: URLs, and refuses everything else."""

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        data = data_url(url)
        if data is not None:
            return URLFetcherResponse(url, body=data[1], headers={"Content-Type": data[0]})
        name = static_name(url)
        path = static_file(name) if name is not None else None
        if path is None:
            raise RefusedURLError(f"report PDFs load only the project's static files, not {url[:200]}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})
