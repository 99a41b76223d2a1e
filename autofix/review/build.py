"""A review of a pull request: line comments on what it adds, and a summary of everything else.

A finding becomes a line comment only when every line it would change (its suggestion's lines, or its own
lines when it has no fix) is a line the pull request adds or changes: a comment anywhere else makes GitHub
reject the whole review, and a bug that predates the pull request is not its author's to fix there.
A finding on added lines whose fix was joined with another finding's (and so reaches lines the pull request
did not write) gets its own fix, rendered by itself, as its suggestion when that stays on added lines.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from autofix import engine, source
from autofix.registry import select_rules
from autofix.review import changes
from autofix.review.suggestions import Suggestion, analyse
from autofix.runner import Job, Reported, applicable

OUTSIDE = "on lines this pull request does not add or change"
FIX_OUTSIDE = "its fix changes lines this pull request does not add or change"


@dataclass(frozen=True)
class Comment:
    path: str
    start: int  # 1-based, at the head
    end: int  # inclusive
    findings: tuple[Reported, ...]
    suggestion: Suggestion | None  # None: the finding has no fix at the chosen level, so the comment only tells


@dataclass(frozen=True)
class Note:
    """A finding the review mentions in its body, not on a line."""

    path: str
    finding: Reported
    reason: str
    fixable: bool


@dataclass
class Review:
    revisions: changes.Revisions
    comments: list[Comment] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    texts: dict[str, str] = field(default_factory=dict)  # each checked file at the head
    old_paths: dict[str, str] = field(default_factory=dict)  # each checked file's name at the merge base
    checked: int = 0


def build(root: str, base: str, head: str, unsafe_fixes: bool = False) -> Review:
    """Raises gitdiff.GitError for unknown revisions and config.ConfigError for a bad base configuration."""
    revisions = changes.revisions(root, base, head)
    settings = changes.base_settings(root, revisions, base)
    job = Job(select_rules(settings.select, settings.ignore, settings.preview), settings, applicable(settings, True, unsafe_fixes))
    review = Review(revisions)
    for item in changes.changed_python_files(root, revisions):
        if isinstance(item, changes.Refused):
            review.errors.append((item.path, item.reason))
            continue
        absolute = os.path.join(root, item.path)
        if settings.is_excluded(absolute):
            continue
        try:
            text = source.decode(changes.read(root, item)).text
            analysis = analyse(item.path, text, job.rules_for(absolute), job.apply, settings.max_file_size, item.added,
                               own_within=item.added)
        except (source.SourceError, engine.ParseFailure) as error:
            review.errors.append((item.path, str(error)))
            continue
        except RecursionError:
            review.errors.append((item.path, "too deeply nested to check"))
            continue
        review.errors += [(item.path, f"internal error: {e}; please report this autofix bug with the file")
                          for e in analysis.internal_errors]
        review.checked += 1
        review.texts[item.path], review.old_paths[item.path] = text, item.old_path
        _place(review, item, analysis)
    return review


def _place(review: Review, item: changes.ChangedFile, analysis) -> None:
    comments: list[Comment] = []
    split: list[tuple[Reported, Suggestion]] = []  # new findings whose joined fix reaches old lines
    for suggestion in analysis.suggestions:
        if _covers(suggestion, item.added):
            comments.append(Comment(item.path, suggestion.start, suggestion.end, suggestion.findings, suggestion))
            continue
        for finding in suggestion.findings:
            own = analysis.own.get(finding) if _within(finding, item.added) else None
            if own is not None and _covers(own, item.added):
                split.append((finding, own))
            else:
                reason = FIX_OUTSIDE if _within(finding, item.added) else OUTSIDE
                review.notes.append(Note(item.path, finding, reason, True))
    for finding, own in split:
        # Its fix by itself replaces lines of the joined fix only, which no other comment covers; but two writes
        # on one line make the same suggestion (one comment for both), and two that merely meet would conflict.
        same = next((n for n, c in enumerate(comments) if c.suggestion is not None
                     and (c.start, c.end, c.suggestion.new) == (own.start, own.end, own.new)), None)
        if same is not None:
            found = tuple(sorted((*comments[same].findings, finding), key=lambda f: (f.line, f.column, f.code)))
            comments[same] = Comment(item.path, own.start, own.end, found, comments[same].suggestion)
        elif any(own.start <= c.end and c.start <= own.end for c in comments):
            review.notes.append(Note(item.path, finding, FIX_OUTSIDE, True))
        else:
            comments.append(Comment(item.path, own.start, own.end, (finding,), own))
    review.comments += comments
    for finding in analysis.findings:
        if analysis.suggestion_of(finding) is not None:
            continue
        if _within(finding, item.added):
            review.comments.append(Comment(item.path, finding.line, finding.end_line, (finding,), None))
        else:
            review.notes.append(Note(item.path, finding, OUTSIDE, False))
    review.comments.sort(key=lambda c: (c.path, c.start, c.end))
    review.notes.sort(key=lambda n: (n.path, n.finding.line, n.finding.column))


def _covers(suggestion: Suggestion, added: frozenset[int]) -> bool:
    return added.issuperset(range(suggestion.start, suggestion.end + 1))


def _within(finding: Reported, added: frozenset[int]) -> bool:
    return added.issuperset(range(finding.line, finding.end_line + 1))
