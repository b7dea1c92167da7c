"""Extraction: a corpus's Matcha durations (``python -m matcha.utils.extract_durations``): its options
(``cli``), the plan (``plan``), the aligners (``backends``, ``methods``), the run (``run``), the summary CSV
(``summary``) and TextGrids (``textgrid``)."""
