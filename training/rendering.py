"""Articles are written in Markdown: rendered with `markdown`, then cleaned with `nh3`.

Whatever staff type (raw HTML, `<script>`, `onerror=` attributes, `javascript:` links), only
the tags and attributes nh3 allows reach the page.
"""

from __future__ import annotations

import markdown
import nh3

MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]


def render_markdown(text: str) -> str:
    """Safe HTML for an article's Markdown text."""
    html = markdown.markdown(text or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return nh3.clean(html, link_rel="noopener noreferrer")
