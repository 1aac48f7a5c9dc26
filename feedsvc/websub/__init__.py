"""WebSub publishing (https://www.w3.org/TR/websub/): telling the hubs which feeds changed.

- ``topics``, pure: from two catalogs, the subscription documents whose bytes changed, each
  format its own topic URL;
- ``outbox``, pure: the ETags announced, the notifications still to send, and which are due
  (settled, per-hub backoff, the retry window), with time passed in;
- ``notifier``, the shell: one ``Notifier`` per process, a thread that wins the election,
  asks the service, posts to the hubs and saves the outbox in the state database.
"""
