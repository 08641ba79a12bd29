"""schemathesis's command line, with one CPython 3.11 bug worked around.

hypothesis describes a filter's lambda by parsing its source with `ast.parse`; under the
recursion limit hypothesis itself raises, CPython 3.11 can fail that parse with
`SystemError: AST constructor recursion depth mismatch`, which aborts the whole operation as a
"Runtime Error". hypothesis already falls back to a plain description when the source does not
parse (`SyntaxError`), so the `SystemError` is turned into one. Only the text of a report changes.
"""

import ast
import sys

_parse = ast.parse


def _parse_or_syntax_error(*args, **kwargs):
    try:
        return _parse(*args, **kwargs)
    except SystemError as error:
        raise SyntaxError(str(error)) from error


ast.parse = _parse_or_syntax_error

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    sys.exit(schemathesis())
