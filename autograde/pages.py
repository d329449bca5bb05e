"""The HTML pages this course writes itself (class report, similarity report): jinja2 templates, escaped in one place.

Templates live in ``autograde/templates/pages/``; every value is escaped unless it is :class:`Markup`
(tables from pandas, which escapes their cells, and figures made here). ``base.html.j2`` holds the
layout that keeps a page within the window: figures scale to the column, tables scroll in their own box.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
_environment = Environment(loader=FileSystemLoader(TEMPLATES / "pages"), autoescape=True,
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context) -> str:
    """The page ``templates/pages/<name>`` filled with ``context`` (autoescaped)."""
    return _environment.get_template(name).render(**context)


def table(frame, **options) -> Markup:
    """A pandas table as HTML (pandas escapes the cells); empty cells stay empty."""
    return Markup(frame.to_html(index=False, na_rep="", border=0, escape=True, **options))


def png(data: bytes, alt: str) -> Markup:
    """An inline PNG image (the pages are single files)."""
    return Markup('<img alt="{}" src="data:image/png;base64,{}">').format(alt, base64.b64encode(data).decode())


def figure_png(figure, alt: str) -> Markup:
    """A matplotlib figure as an inline PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return png(buffer.getvalue(), alt)
