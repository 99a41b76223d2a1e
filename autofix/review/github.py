"""Posting a review to a GitHub pull request through the REST API (stdlib urllib: four endpoints need no SDK).

- De-duplication: every comment and review body carries a hidden marker (formats.MARKER); before posting, the
  markers of all earlier comments and reviews (every page, by the Link header) are collected and what is already
  there is not posted again. After an ambiguous failure (a 5xx, a dropped connection) the markers are read
  again before retrying, since GitHub may have created the review anyway.
- A 422 means some comment is not on the pull request's diff, without saying which: the comments are checked
  against the diff GitHub shows (`GET .../files`), the ones it cannot place move into the review body, and
  the review is posted again; if GitHub still refuses, every comment moves into the body.
- Waits: `Retry-After` or `x-ratelimit-reset` on rate limits, exponential backoff on 5xx and timeouts, each
  wait capped, a bounded number of attempts.
- The token goes in the Authorization header only: never in a URL, never in a message; redirects and
  pagination links to another origin are refused, so the header never leaves for another host.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from autofix import __version__
from autofix.gitdiff import HUNK

DEFAULT_API_URL = "https://api.github.com"
_MARKER = re.compile(r"<!-- autofix-review:((?:summary:)?[0-9a-f]{16}) -->")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(Exception):
    """A request that failed for good; one line, without the token."""


class ServerError(GitHubError):
    """A 5xx or no answer at all: GitHub may or may not have done what was asked."""


class Unprocessable(GitHubError):
    """422: GitHub understood the request and refused it (for a review: a comment it cannot place)."""


class _RateLimited(GitHubError):
    def __init__(self, message: str, wait: float | None):
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class Policy:
    attempts: int = 5
    backoff: float = 1.0  # seconds before the first retry, doubled after each
    max_wait: float = 60.0  # the longest single wait, whatever Retry-After asks for
    timeout: float = 30.0  # seconds per request

    @classmethod
    def from_env(cls, env=os.environ) -> Policy:
        """AUTOFIX_GITHUB_{ATTEMPTS,BACKOFF,MAX_WAIT,TIMEOUT} override the defaults (tests keep waits tiny)."""
        values = {}
        for name, kind in (("attempts", int), ("backoff", float), ("max_wait", float), ("timeout", float)):
            variable = f"AUTOFIX_GITHUB_{name.upper()}"
            if variable in env:
                try:
                    values[name] = kind(env[variable])
                except ValueError:
                    values[name] = -1
                if values[name] < (1 if name == "attempts" else 0):
                    raise GitHubError(f"{variable} must be a {'positive whole' if kind is int else 'non-negative'} number")
        return cls(**values)


@dataclass
class Response:
    status: int
    headers: object  # http.client.HTTPMessage: case-insensitive .get()
    data: object  # the decoded JSON body, or None


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Follow redirects on the API's own origin only: the Authorization header must not travel elsewhere."""

    def __init__(self, origin: tuple[str, str]):
        self.origin = origin

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if _origin(newurl) != self.origin:
            return None  # urllib then raises the redirect as an HTTPError
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def check_api_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname:
        try:
            loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
        if loopback:  # a local test server; anywhere else, plain http would expose the token
            return url.rstrip("/")
    raise GitHubError(f"API URL {url!r} must be https:// (http:// only to a loopback address)")


class Client:
    def __init__(self, api_url: str, token: str, policy: Policy | None = None,
                 sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] | None = None):
        self.base = check_api_url(api_url)
        self._token = token
        self.policy = policy or Policy()
        self._sleep = sleep
        self._log = log or (lambda message: sys.stderr.write(message + "\n"))
        self._opener = urllib.request.build_opener(_SameOrigin(_origin(self.base)))

    def log(self, message: str) -> None:
        self._log(self._scrub(message))

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def call(self, method: str, path: str, body: dict | None = None, idempotent: bool = True) -> Response:
        """One API request with retries: rate limits always (nothing was done), 5xx and timeouts when idempotent."""
        url = path if path.startswith(self.base + "/") else self.base + path
        for attempt in range(self.policy.attempts):
            last = attempt + 1 == self.policy.attempts
            try:
                return self._send(method, url, body)
            except _RateLimited as limit:
                if last:
                    raise GitHubError(f"{limit}; gave up after {self.policy.attempts} attempts") from None
                self.wait(limit.wait if limit.wait is not None else self.backoff(attempt), str(limit))
            except ServerError as error:
                if last or not idempotent:
                    raise
                self.wait(self.backoff(attempt), str(error))
        raise AssertionError("unreachable")

    def backoff(self, attempt: int) -> float:
        return self.policy.backoff * 2 ** attempt

    def wait(self, seconds: float, reason: str) -> None:
        seconds = max(0.0, min(seconds, self.policy.max_wait))
        self.log(f"GitHub: {reason}; retrying in {seconds:.1f} s")
        self._sleep(seconds)

    def pages(self, path: str) -> Iterator[dict]:
        """Every item of a paginated list, following the Link header's rel="next" on the API's origin only."""
        url: str | None = path + ("&" if "?" in path else "?") + "per_page=100"
        for _ in range(1000):
            response = self.call("GET", url)
            if not isinstance(response.data, list):
                raise GitHubError(f"GET {_where(url)}: expected a list, got {type(response.data).__name__}")
            yield from response.data
            match = _NEXT.search(response.headers.get("Link") or "")
            if match is None:
                return
            url = match.group(1)
            if _origin(url) != _origin(self.base):
                raise GitHubError(f"GET {_where(url)}: refusing a pagination link to another host")
        raise GitHubError(f"GET {_where(path)}: more than 1000 pages")

    def _send(self, method: str, url: str, body: dict | None) -> Response:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"autofix/{__version__}",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        where = f"{method} {_where(url)}"
        try:
            with self._opener.open(request, timeout=self.policy.timeout) as response:
                return Response(response.status, response.headers, _decode(response.read()))
        except urllib.error.HTTPError as error:
            status, headers = error.code, error.headers
            payload = _decode(error.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise ServerError(self._scrub(f"{where}: no answer ({reason})")) from None
        message = payload.get("message", "") if isinstance(payload, dict) else ""
        text = self._scrub(f"{where}: {status}" + (f" {message}" if message else ""))
        if status == 429 or (status == 403 and (headers.get("x-ratelimit-remaining") == "0"
                                                or headers.get("retry-after") or "rate limit" in message.lower())):
            raise _RateLimited(text, _rate_limit_wait(headers))
        if status >= 500:
            raise ServerError(text)
        if status == 422:
            errors = payload.get("errors") if isinstance(payload, dict) else None
            raise Unprocessable(text + (f" ({self._scrub(json.dumps(errors))[:300]})" if errors else ""))
        raise GitHubError(text)


def _decode(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _rate_limit_wait(headers) -> float | None:
    retry_after = headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    reset = headers.get("x-ratelimit-reset")
    if headers.get("x-ratelimit-remaining") == "0" and reset and reset.strip().isdigit():
        return max(0.0, int(reset) - time.time())
    return None


# --- a review ---------------------------------------------------------------------------------------------------

@dataclass
class Posted:
    reviews: int = 0
    comments: int = 0
    already: int = 0  # comments found from an earlier run, not posted again
    dropped: list[dict] = field(default_factory=list)  # comments GitHub would not place, moved into the body


def key(body: str) -> str | None:
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def posted_keys(client: Client, prefix: str) -> set[str]:
    """The markers of every earlier review comment and review body on the pull request, across all pages."""
    keys: set[str] = set()
    for item in [*client.pages(f"{prefix}/comments"), *client.pages(f"{prefix}/reviews")]:
        keys.update(_MARKER.findall(item.get("body") or ""))  # a body lists the markers of comments moved into it
    return keys


def post_review(client: Client, repo: str, number: int, payload: dict, max_comments: int = 50) -> Posted:
    """Post `payload` (formats.github) as one or more reviews, skipping what earlier runs posted."""
    prefix = f"/repos/{repo}/pulls/{number}"
    result = Posted()
    keys = posted_keys(client, prefix)
    fresh = [c for c in payload["comments"] if key(c["body"]) not in keys]
    result.already = len(payload["comments"]) - len(fresh)
    chunks = [fresh[i:i + max_comments] for i in range(0, len(fresh), max_comments)]
    summary_new = key(payload["body"]) not in keys
    if summary_new and not chunks:
        chunks = [[]]
    for n, chunk in enumerate(chunks):
        if n == 0 and summary_new:
            body = payload["body"]
        else:
            part = f" (part {n + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            body = f"### autofix\n{len(chunk)} more comment{'s' if len(chunk) != 1 else ''} on lines this pull request adds{part}."
        _post_chunk(client, prefix, payload["commit_id"], body, list(chunk), result)
    return result


def _post_chunk(client: Client, prefix: str, commit: str, body: str, comments: list[dict], result: Posted) -> None:
    dropped: list[dict] = []
    checked_against_diff = False
    while True:
        review = {"commit_id": commit, "event": "COMMENT", "body": body + _dropped_text(dropped), "comments": comments}
        try:
            _create(client, prefix, review)
        except Unprocessable as error:
            if not comments:
                raise
            if not checked_against_diff:
                checked_against_diff = True
                placeable = _diff_lines(client, prefix)
                bad = [c for c in comments if not _fits(c, placeable)] or list(comments)
            else:
                bad = list(comments)
            client.log(f"warning: GitHub refused the review ({error}); posting it again without the comments on "
                       f"{', '.join(_place(c) for c in bad)}, which are listed in its body instead")
            dropped += bad
            comments = [c for c in comments if c not in bad]
            continue
        result.reviews += 1
        result.comments += len(review["comments"])
        result.dropped += dropped
        return


def _create(client: Client, prefix: str, review: dict) -> None:
    """POST the review; after an ambiguous failure, look first whether it was created after all."""
    for attempt in range(client.policy.attempts):
        try:
            client.call("POST", f"{prefix}/reviews", review, idempotent=False)
            return
        except ServerError as error:
            if attempt + 1 == client.policy.attempts:
                raise
            client.wait(client.backoff(attempt), str(error))
            mine = {key(review["body"])} | {key(c["body"]) for c in review["comments"]}
            if mine & posted_keys(client, prefix):
                return  # GitHub did create it: posting again would duplicate every comment


def _diff_lines(client: Client, prefix: str) -> dict[str, set[int]]:
    """For each file of the pull request, the new-side lines GitHub shows in its diff (added and context)."""
    return {f["filename"]: _right_lines(f.get("patch") or "") for f in client.pages(f"{prefix}/files")}


def _right_lines(patch: str) -> set[int]:
    lines: set[int] = set()
    number = None
    for row in patch.splitlines():
        match = HUNK.match(row)
        if match:
            number = int(match.group(1))
        elif number is not None and row[:1] in (" ", "+"):
            lines.add(number)
            number += 1
    return lines


def _fits(comment: dict, placeable: dict[str, set[int]]) -> bool:
    start = comment.get("start_line", comment["line"])
    return placeable.get(comment["path"], set()).issuperset(range(start, comment["line"] + 1))


def _place(comment: dict) -> str:
    start = comment.get("start_line", comment["line"])
    return f"{comment['path']}:{start}" + (f"-{comment['line']}" if start != comment["line"] else "")


def _dropped_text(dropped: list[dict]) -> str:
    if not dropped:
        return ""
    rows = []
    for comment in dropped:
        headline = next((line for line in comment["body"].splitlines() if line.startswith("**")), "")
        rows.append(f"- `{_place(comment)}`: {headline} <!-- autofix-review:{key(comment['body'])} -->")
    return ("\n\n**Comments GitHub would not place on its diff of this pull request** (its diff differs from the "
            "one between the revisions autofix was given):\n\n" + "\n".join(rows) + "\n")
