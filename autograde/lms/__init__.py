"""From an LMS and back: ``course collect`` (its "download all submissions" export into nbgrader's
``submitted/``), the roster and groups, ``course export`` (its grade import file) and the feedback
pages in the layout of its bulk feedback upload. One module per job; the LMSs supported are in ``LMSS``."""
LMSS = ("brightspace", "canvas", "moodle")
