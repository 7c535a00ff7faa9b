"""The bot's runtime: features, services, scheduler, guard data, i18n, rate limiting, webhook."""
