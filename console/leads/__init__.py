"""Presales leads in the console (issue 22): the structured lead the bot's intake sends inside a handoff, stored
beside its ticket, edited and moved through its quote status by agents, exported, counted, and sent to the
seller's systems through a signed webhook with a durable outbox.

Modules, one job each: ``models`` (the tables), ``store`` (create, edit, move, read; every change writes its
outbox row in the same transaction), ``routing`` (which team a lead's ticket goes to, the previous owner),
``outbox`` (the webhook events and their payload), ``sender`` (the background task that delivers them, signed),
``export`` (CSV), ``metrics`` (dashboard and Prometheus numbers). It imports the console's models and
``kernel.leads``, never the ticket service (console.tickets imports it).
"""

from console.leads.store import LeadConflict, LeadNotFound, LeadStore

__all__ = ["LeadStore", "LeadNotFound", "LeadConflict"]
