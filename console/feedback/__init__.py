"""What customers say about the service itself: 👍/👎 on a bot answer, a CSAT rating of a bot-only
conversation and the customer-effort score (CES) after a handoff. ``models.FeedbackRow`` is the one
table; the bot's slots reach it through the events tail; the dashboard reads it."""
