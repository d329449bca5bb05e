"""Reading PDFs back with poppler-utils, to check what `course pdf` printed."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path


def pdf_images(path: Path) -> list[tuple[int, int]]:
    """(width, height) of every image in the PDF, from ``pdfimages -list``."""
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return [(int(row[3]), int(row[4])) for row in rows if row[2] == "image"]


def words_beyond(path: Path, right_margin_pt: float) -> list[tuple[int, float, str]]:
    """(page, xMax, word) of every word that reaches into the right margin, from ``pdftotext -bbox``."""
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    beyond = []
    for number, page in enumerate(xml.split("<page ")[1:], start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x_max, word in re.findall(r'xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', page):
            if float(x_max) > width - right_margin_pt:
                beyond.append((number, float(x_max), word))
    return beyond
