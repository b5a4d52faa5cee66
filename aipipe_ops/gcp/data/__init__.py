"""The Google Cloud fact tables (CSV, one `source` column each); a package so the files ship in the wheel."""
