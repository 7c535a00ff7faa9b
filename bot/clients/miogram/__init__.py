"""Async client of the MioGram web service: sends, account functions, replies, phones, media."""
