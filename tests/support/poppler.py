"""Reading PDFs back with poppler-utils, to check what `course pdf` printed."""
from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_images(path: Path) -> list[tuple[int, int]]:
    """(width, height) of every image in the PDF, from ``pdfimages -list``."""
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return [(int(row[3]), int(row[4])) for row in rows if row[2] == "image"]
