"""Pull-request integration: `autofix review` turns fixes into review suggestions on the lines a PR adds.

changes: what git says changed between two revisions (read-only, nothing checked out or executed).
suggestions: a file's fixes as line-range replacements, each tied to the findings it fixes.
build: which findings become line comments and which go to the review body.
formats: the GitHub review payload, reviewdog's rdjson, SARIF 2.1.0 and GitLab discussions.
github: posting a review through the GitHub REST API.
"""
