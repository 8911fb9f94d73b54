"""The Glimpse app icon: glimpse.svg and glimpse-<size>.png (drawn by packaging/make_icons.py)."""
