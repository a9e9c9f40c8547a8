"""Attachments in chat: checking and normalising images (images.py), recognising text files (texts.py), reading
images (parse.py), and the service that stores and answers them (service.py)."""
