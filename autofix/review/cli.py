"""`autofix review`: a pull request's review as JSON (GitHub, reviewdog, SARIF, GitLab), or posted to GitHub.
Also the rdjson and SARIF outputs of the plain `autofix` command.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import IO

from autofix import engine, gitdiff, render, source
from autofix.config import ConfigError
from autofix.review import formats, github
from autofix.review.build import Review, build
from autofix.review.suggestions import analyse
from autofix.runner import FileOutcome, Job

REVIEW_FORMATS = ("github", "rdjson", "sarif", "gitlab")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {value!r}")
    return int(value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autofix review",
        description="Review a pull request: fixes as suggested changes on the lines it adds; every other finding "
        "in the files it changes goes to the review's summary. Reads git objects only: nothing is checked out or run.",
    )
    p.add_argument("--base", required=True, metavar="REV", help="the target branch's revision (its pyproject.toml configures the review)")
    p.add_argument("--head", default="HEAD", metavar="REV", help="the pull request's revision (default HEAD)")
    p.add_argument("--format", choices=REVIEW_FORMATS, default="github",
                   help="github: the review payload (default); rdjson: reviewdog; sarif: SARIF 2.1.0; gitlab: MR discussions")
    p.add_argument("--unsafe-fixes", action="store_true", help="also suggest fixes marked unsafe (their comments say so)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when the review has comments")
    post = p.add_argument_group("posting to GitHub")
    post.add_argument("--post", action="store_true", help="post the review (token from $GITHUB_TOKEN); prints no JSON")
    post.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    post.add_argument("--pr", type=_positive, metavar="N", help="default: the pull request of $GITHUB_EVENT_PATH")
    post.add_argument("--api-url", metavar="URL", help=f"default: $GITHUB_API_URL, else {github.DEFAULT_API_URL}")
    post.add_argument("--max-comments", type=_positive, default=50, metavar="N",
                      help="comments per review; a longer review is split (default 50)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    target = _target(args) if args.post else None  # a missing token is an error before any work
    try:
        review = build(gitdiff.toplevel("."), args.base, args.head, args.unsafe_fixes)
    except gitdiff.GitError as error:
        raise ConfigError(f"review: {error}") from None
    for path, reason in review.errors:
        render.stderr(render.error_line(path, reason))
    suggestions = sum(c.suggestion is not None for c in review.comments)
    render.stderr(f"autofix review: {formats.plural(review.checked, 'changed Python file')} checked; "
                  f"{formats.plural(len(review.comments), 'line comment')} ({suggestions} with suggestions), "
                  f"{formats.plural(len(review.notes), 'finding')} in the summary.")
    if target is not None:
        status = _post(review, *target, args.max_comments)
        if status:
            return status
    else:
        writers = {
            "github": formats.github,
            "gitlab": formats.gitlab,
            "rdjson": lambda r: formats.rdjson(formats.review_annotations(r)),
            "sarif": lambda r: formats.sarif(formats.review_annotations(r)),
        }
        formats.write(writers[args.format](review), sys.stdout)
    if review.errors:
        return 2
    return 1 if review.comments and not args.exit_zero else 0


def _target(args: argparse.Namespace) -> tuple[str, int, github.Client]:
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise ConfigError("review --post: GITHUB_TOKEN is not set")
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY", "")
    if not _REPO.fullmatch(repo):
        raise ConfigError(f"review --post: repository {repo!r} is not OWNER/NAME (give --repo or set GITHUB_REPOSITORY)")
    number = args.pr or _event_pr()
    try:
        client = github.Client(args.api_url or os.environ.get("GITHUB_API_URL") or github.DEFAULT_API_URL, token,
                               github.Policy.from_env())
    except github.GitHubError as error:
        raise ConfigError(f"review --post: {error}") from None
    return repo, number, client


def _event_pr() -> int:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ConfigError("review --post: no pull request number (give --pr, or run on a pull_request event)")
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read the event: {error}") from None
    number = (event.get("pull_request") or {}).get("number") if isinstance(event, dict) else None
    if not isinstance(number, int) or number < 1:
        raise ConfigError(f"{path}: not a pull request event (give --pr)")
    return number


def _post(review: Review, repo: str, number: int, client: github.Client, max_comments: int) -> int:
    if not (review.comments or review.notes or review.errors):
        render.stderr(f"Nothing to post on {repo}#{number}: no findings in the files it changes.")
        return 0
    try:
        posted = github.post_review(client, repo, number, formats.github(review), max_comments)
    except github.GitHubError as error:
        render.stderr(f"error: posting the review to {repo}#{number}: {error}")
        return 2
    if not posted.reviews:
        render.stderr(f"Nothing new to post on {repo}#{number} ({posted.already} comments already there).")
        return 0
    render.stderr(f"Posted {posted.reviews} review{'s' if posted.reviews != 1 else ''} with {posted.comments} comments on "
                  f"{repo}#{number}; {posted.already} already there; {len(posted.dropped)} moved into the review body.")
    return 0


# --- the plain command's --output-format rdjson / sarif ---------------------------------------------------------

def check_output(fmt: str, outcomes: list[FileOutcome], job: Job, written: bool, stream: IO[str]) -> bool:
    """Write every finding (with its fix as a suggestion unless the fixes were written); True when any."""
    annotations: list[formats.Annotation] = []
    for outcome in sorted(outcomes, key=lambda o: o.path):
        if outcome.error:
            continue
        if not written and outcome.after is not None and outcome.before is not None:
            # The outcome's findings are what remains after fixing, placed in the fixed text: analyse the file
            # as it is on disk instead, to place every finding and suggestion on its real lines.
            try:
                analysis = analyse(outcome.path, outcome.before, job.rules_for(outcome.path), job.apply,
                                   job.settings.max_file_size, own_within=frozenset())  # suggestions only
            except (engine.ParseFailure, RecursionError):
                continue  # cannot happen: the same text was just checked
            for finding in analysis.findings:
                suggestion = analysis.suggestion_of(finding)
                first = suggestion is not None and suggestion.findings[0] == finding
                annotations.append(formats.Annotation(outcome.path, finding, suggestion if first else None, outcome.before))
            continue
        text = outcome.after if written and outcome.after is not None else outcome.before
        if text is None and outcome.findings:
            try:
                text = source.read(outcome.path).text  # for byte columns: the executor keeps no unchanged text
            except source.SourceError:
                text = None
        annotations += [formats.Annotation(outcome.path, f, None, text) for f in outcome.findings]
    formats.write(formats.rdjson(annotations) if fmt == "rdjson" else formats.sarif(annotations), stream)
    return bool(annotations)
