"""Images in chat: checking and normalising uploads (images.py) and reading them (parse.py)."""
