"""The shipped price book (price_book.json, Catalog JSON) and its sources (sources.json); a package so the
JSON files ship in the wheel."""
