"""Handoff tickets (views, ingest from the bot's side, agent lifecycle); the console's HTTP layer and events tail import it, nothing outside the console does.

Modules: ``core`` (the store, errors, text checks), ``views`` (what the API and the live stream return),
``ingest`` (handoffs, customer and bot messages, CSAT from the internal API and the events tail),
``lifecycle`` (claim, reply, note, transfer, close, hand back; the moves are the table of console/states.py),
``service`` (the three over one store).
"""

from console.tickets.core import BadRequest, Forbidden, NotFound, clean_text, viewer_of
from console.tickets.ingest import parse_rating
from console.tickets.service import TicketService
from console.tickets.views import QueueStatus

__all__ = ["TicketService", "NotFound", "Forbidden", "BadRequest", "QueueStatus", "parse_rating", "clean_text",
           "viewer_of"]
