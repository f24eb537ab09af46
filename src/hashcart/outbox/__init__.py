"""Sending what the outbox holds: replies, private messages and email."""
