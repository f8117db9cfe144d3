"""What an upload says back: the counts imported, or every bad line with its reason."""

from __future__ import annotations

from typing import Any

from dash import html


def import_message(result: Any) -> list[Any]:
    if result.ok:
        return [html.P(f"Imported: {result.summary()}. Adherence follows from the next tick.", className="upload-ok")]
    lines = result.messages()
    return [
        html.P(f"Nothing imported: {result.total} problem{'s' if result.total != 1 else ''} in the file. Fix and upload again.",
               className="upload-error"),
        html.Pre("\n".join(lines), className="upload-errors"),
    ]
