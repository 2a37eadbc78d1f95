"""One customer across channels: which conversations and tickets belong to which verified customer.

``models.ConversationRow`` is the console's record of every conversation it has seen in Rasa's
event stream (channel, language, first and last message) and, once the bot verified the customer
(a web token, a bound WeChat/WeCom id or a successful order check sets the ``verified_customer_id``
slot), the ``customer_id`` that joins it to the customer's conversations on other channels.
``record`` keeps it up to date from the events tail. ``history`` answers who a ticket's customer is and
what the console knows of them (earlier tickets, conversations, open leads, orders the bot showed);
``repeat`` flags a repeat contact within 7 days and offers it to the earlier agent (``models.TicketLink``);
``transcript`` reads one of the customer's conversations from Rasa for the agent. Imported by
console.tickets and console.web only.
"""
