"""Parsing a file's text: CPython's `ast` for analysis, LibCST for a file whose fixes are rendered. Both turn a
failure into ParseFailure, whose message is one line with the position and the reason."""
from __future__ import annotations

import ast

from autofix.lazy import libcst as cst


class ParseFailure(Exception):
    """The file is not valid Python; the message is one line with the position and the reason."""


def parse_ast(text: str) -> ast.Module:
    """CPython's tree of `text`, or ParseFailure with a one-line reason."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        raise ParseFailure(f"syntax error at {error.lineno}:{error.offset}: {error.msg}") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse (Python's own parser gives up too)") from None
    except (ValueError, MemoryError) as error:
        raise ParseFailure(f"cannot parse: {error.__class__.__name__}") from None


def parse_cst(text: str) -> "cst.Module":
    """LibCST's tree of `text` (which CPython has parsed already), or ParseFailure with a one-line reason."""
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        parse_ast(text)  # CPython's message names the problem better, when it sees one
        raise ParseFailure(f"syntax error at {error.raw_line}:{error.raw_column + 1} (LibCST cannot parse it)") from None
    except RecursionError:
        raise ParseFailure("too deeply nested to parse") from None
