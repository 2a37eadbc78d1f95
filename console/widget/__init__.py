"""What the web widget sends the console besides chat messages (issue 27): photos and files the shopper attaches
(``uploads``), the contact a shopper leaves outside staffed hours (``contacts``), the replies they have not seen yet
(``notices``), the comment after a CSAT rating (``comments``) and the suggested first questions (``suggestions``).

Tables in ``models``; the HTTP routes in console/web/widget.py (public, the session id is the shopper's bearer
secret) and console/web/widget_agents.py (agents, logged in). docs/widget.md describes the flows.
"""
