"""What a price book covers: the regions the shipped book prices and `aipipe prices refresh` fetches by default.

The shipped book is built by tools/build_price_book.py (a build-time tool, not part of the package); what the
runtime and that tool must agree on lives here.
"""

from __future__ import annotations

# The regions whose prices the fact sheet (reference/prices.md) gives for every family the stacks use.
PRICE_BOOK_REGIONS = ("us-central1", "us-east5", "europe-west4")
