"""Async client of the Resont REST API: endpoints, models, dates, errors, paging, OAuth."""
