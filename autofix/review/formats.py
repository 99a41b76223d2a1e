"""Findings with their suggestions, written for the tools that post them.

- github: the body of `POST /repos/{owner}/{repo}/pulls/{number}/reviews` (line comments with ```suggestion).
- rdjson: reviewdog's Diagnostic Format. Lines 1-based, columns in UTF-8 bytes, ends exclusive; a diagnostic
  with a suggestion is placed on exactly the suggestion's range, which reviewdog needs for a GitHub suggestion.
- sarif: SARIF 2.1.0, fixes as `deletedRegion` + `insertedContent` (columns in Unicode code points).
- gitlab: merge-request discussions with ```suggestion:-N+0, positioned by base/start/head SHAs.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote

from autofix import __version__
from autofix.registry import all_rules
from autofix.render import code_fence
from autofix.review.build import FIX_OUTSIDE, Comment, Review
from autofix.review.suggestions import Suggestion
from autofix.rule import Applicability
from autofix.runner import Reported

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MARKER = "<!-- autofix-review:{} -->"  # hidden in each comment's Markdown: finds our earlier comments on a re-run


@dataclass(frozen=True)
class Annotation:
    """One finding to report; a suggestion fixing several findings rides on the first of them only."""

    path: str
    finding: Reported
    suggestion: Suggestion | None
    text: str | None  # the file's text, to count bytes (rdjson) and to write fix descriptions


# --- GitHub ----------------------------------------------------------------------------------------------------

def github(review: Review) -> dict:
    return {
        "commit_id": review.revisions.head,
        "event": "COMMENT",
        "body": summary(review),
        "comments": [github_comment(c, key) for c, key in zip(review.comments, comment_keys(review.comments))],
    }


def github_comment(comment: Comment, key: str) -> dict:
    payload = {"path": comment.path, "body": comment_body(comment, key), "line": comment.end, "side": "RIGHT"}
    if comment.start != comment.end:
        payload.update(start_line=comment.start, start_side="RIGHT")
    return payload


def comment_keys(comments: list[Comment]) -> list[str]:
    """A stable key per comment: its file, rules and text (not its line, which moves when code is added above)."""
    keys, seen = [], {}
    for comment in comments:
        parts = [comment.path, *(f.code for f in comment.findings)]
        if comment.suggestion is not None:
            parts += ["".join(comment.suggestion.old), "".join(comment.suggestion.new)]
        else:
            parts += [f.message for f in comment.findings]
        digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        seen[digest] = seen.get(digest, 0) + 1  # the same bug added twice in one file: two comments
        keys.append(hashlib.sha256(f"{digest}:{seen[digest]}".encode()).hexdigest()[:16])
    return keys


def comment_body(comment: Comment, key: str, gitlab_lines: int | None = None) -> str:
    lines = [MARKER.format(key)]
    lines += [f"**{f.code}** ({f.name}): {f.message}" for f in comment.findings]
    suggestion = comment.suggestion
    if suggestion is not None:
        replacement = "".join(line.rstrip("\r\n") + "\n" for line in suggestion.new)
        fence = code_fence(replacement)
        info = "suggestion" if gitlab_lines is None else f"suggestion:-{gitlab_lines}+0"
        lines += ["", f"{fence}{info}\n{replacement}{fence}"]
        lines.append(_fix_note(suggestion))
    else:
        lines.append(_no_fix_note(comment.findings))
    codes = sorted({f.code for f in comment.findings})
    lines.append(f"<sub>autofix · `autofix explain {codes[0]}`</sub>")
    return "\n".join(lines)


def _fix_note(suggestion: Suggestion) -> str:
    effects = sorted({f.fix.effect.value for f in suggestion.findings if f.fix})
    if suggestion.unsafe:
        return f"Unsafe fix ({'/'.join(effects)}): it changes behaviour in some programs; review it before applying."
    return f"Safe fix ({'/'.join(effects)})."


def _no_fix_note(findings: Iterable[Reported]) -> str:
    if any(f.fix and f.fix.applicability is Applicability.UNSAFE for f in findings):
        return "An unsafe fix exists: `autofix --fix --unsafe-fixes` applies it (it changes behaviour in some programs)."
    return "No automatic fix: see the rule's documentation."


def summary(review: Review) -> str:
    """The review's body: what was suggested, and the findings that were not placed on lines, with why."""
    out = ["### autofix"]
    suggestions = sum(c.suggestion is not None for c in review.comments)
    if review.comments:
        out.append(f"{plural(len(review.comments), 'comment')} on lines this pull request adds"
                   + (f", {suggestions} with a suggested change." if suggestions else "."))
    elif not review.notes and not review.errors:
        out.append(f"No findings in the {plural(review.checked, 'Python file')} this pull request changes.")
    if review.notes:
        heading = (f"**{plural(len(review.notes), 'finding')} not commented on** "
                   "(`autofix --fix PATH` applies the fixes marked [*]):")
        out += ["", heading, "", "| file | line | rule | message | why not on the line |", "|---|---:|---|---|---|"]
        for note in review.notes:
            mark = " [*]" if note.fixable else ""
            out.append(f"| `{_cell(note.path)}` | {note.finding.line} | {note.finding.code}{mark} | "
                       f"{_cell(note.finding.message)} | {note.reason} |")
    if review.errors:
        out += ["", "**Not checked:**", ""] + [f"- `{_cell(path)}`: {_cell(reason)}" for path, reason in review.errors]
    text = "\n".join(out) + "\n"
    return MARKER.format("summary:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]) + "\n" + text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plural(number: int, word: str) -> str:
    """`1 file`, `2 files`."""
    return f"{number} {word}{'' if number == 1 else 's'}"


# --- GitLab ----------------------------------------------------------------------------------------------------

def gitlab(review: Review) -> dict:
    """Discussions for `POST /projects/:id/merge_requests/:iid/discussions`, and the summary as a note body."""
    shas = {"base_sha": review.revisions.merge_base, "start_sha": review.revisions.base,
            "head_sha": review.revisions.head}
    discussions = []
    for comment, key in zip(review.comments, comment_keys(review.comments)):
        position = {"position_type": "text", **shas, "old_path": review.old_paths.get(comment.path, comment.path),
                    "new_path": comment.path, "new_line": comment.end}
        body = comment_body(comment, key, gitlab_lines=comment.end - comment.start)
        discussions.append({"body": body, "position": position})
    return {**shas, "summary": summary(review), "discussions": discussions}


# --- reviewdog and SARIF ---------------------------------------------------------------------------------------

def review_annotations(review: Review) -> list[Annotation]:
    """Every finding on the lines the pull request adds or changes, one annotation each: what the review comments
    on (a suggestion rides on its first finding), and the findings there whose fix reaches other lines, without a
    suggestion. Findings on lines the pull request did not write stay out, as they do on GitHub."""
    annotations = [
        Annotation(c.path, f, c.suggestion if n == 0 else None, review.texts.get(c.path))
        for c in review.comments for n, f in enumerate(c.findings)
    ]
    annotations += [Annotation(note.path, note.finding, None, review.texts.get(note.path))
                    for note in review.notes if note.reason == FIX_OUTSIDE]
    annotations.sort(key=lambda a: (a.path, a.finding.line, a.finding.column, a.finding.code))
    return annotations


def rdjson(annotations: list[Annotation]) -> dict:
    diagnostics = []
    for a in annotations:
        lines = _text_lines(a.text)
        diagnostic = {
            "message": a.finding.message,
            "location": {"path": a.path, "range": _finding_range(a.finding, lines, _utf8_column)},
            "severity": "WARNING",
            "source": {"name": "autofix"},
            "code": {"value": a.finding.code},
        }
        if a.suggestion is not None:
            start, end, text = _replacement(a.suggestion)
            suggestion_range = {"start": {"line": start[0], "column": _utf8_column(lines, *start)},
                                "end": {"line": end[0], "column": _utf8_column(lines, *end)}}
            diagnostic["location"]["range"] = suggestion_range
            diagnostic["suggestions"] = [{"range": suggestion_range, "text": text}]
        diagnostics.append(diagnostic)
    return {"source": {"name": "autofix"}, "severity": "WARNING", "diagnostics": diagnostics}


def sarif(annotations: list[Annotation]) -> dict:
    rules = [r for r in all_rules() if any(a.finding.code == r.code for a in annotations)]
    index = {r.code: n for n, r in enumerate(rules)}
    results = []
    for a in annotations:
        uri = quote(a.path.replace("\\", "/"), safe="/")
        lines = _text_lines(a.text)
        result = {
            "ruleId": a.finding.code,
            "ruleIndex": index[a.finding.code],
            "level": "warning",
            "message": {"text": a.finding.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": _sarif_region(_finding_range(a.finding, lines, _char_column)),
            }}],
        }
        if a.suggestion is not None:
            start, end, text = _replacement(a.suggestion)
            region = _sarif_region({"start": {"line": start[0], "column": start[1]},
                                    "end": {"line": end[0], "column": end[1]}})
            result["fixes"] = [{
                "description": {"text": _fix_note(a.suggestion)},
                "artifactChanges": [{"artifactLocation": {"uri": uri},
                                     "replacements": [{"deletedRegion": region, "insertedContent": {"text": text}}]}],
            }]
        results.append(result)
    driver = {
        "name": "autofix",
        "version": __version__,
        # ruff's fields for a rule (no helpUri: autofix has no hosted rule pages; `autofix explain` prints them).
        "rules": [{
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.message},
            "fullDescription": {"text": r.documentation()},
            "help": {"text": f"`autofix explain {r.code}`. At runtime: {r.runtime}"},
            "defaultConfiguration": {"enabled": not r.preview, "level": "warning"},
            "properties": {"id": r.code, "kind": "autofix", "name": r.name, "problem.severity": "warning",
                           "fix": r.fix_applicability.value},
        } for r in rules],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}]}


def _sarif_region(span: dict) -> dict:
    return {"startLine": span["start"]["line"], "startColumn": span["start"]["column"],
            "endLine": span["end"]["line"], "endColumn": span["end"]["column"]}


def _replacement(suggestion: Suggestion) -> tuple[tuple[int, int], tuple[int, int], str]:
    """The suggestion as a character range of the file (1-based, end exclusive) and the text that replaces it.

    The range runs from the first replaced line's start to the last one's end, before its line break, so
    that it stays on the suggestion's lines (reviewdog and GitHub need the comment's lines to be exactly those).
    """
    last = suggestion.old[-1]
    ending = last[len(last.rstrip("\r\n")):]
    new = "".join(suggestion.new)
    if ending and new.endswith(ending):
        return (suggestion.start, 1), (suggestion.end, len(last) - len(ending) + 1), new[:-len(ending)]
    # The fix changes whether the file ends with a line break: replace the break too.
    return (suggestion.start, 1), (suggestion.end + 1, 1), new


def _finding_range(finding: Reported, lines: list[str], column) -> dict:
    return {"start": {"line": finding.line, "column": column(lines, finding.line, finding.column)},
            "end": {"line": finding.end_line, "column": column(lines, finding.end_line, finding.end_column)}}


def _text_lines(text: str | None) -> list[str]:
    return text.split("\n") if text is not None else []


def _utf8_column(lines: list[str], line: int, column: int) -> int:
    """1-based character column -> 1-based UTF-8 byte column (reviewdog counts bytes)."""
    if not 0 < line <= len(lines):
        return column
    return len(lines[line - 1][:column - 1].encode("utf-8", "surrogatepass")) + 1


def _char_column(lines: list[str], line: int, column: int) -> int:
    return column


def write(data: dict, stream: IO[str]) -> None:
    json.dump(data, stream, indent=2)
    stream.write("\n")
