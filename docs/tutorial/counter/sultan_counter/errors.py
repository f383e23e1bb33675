"""The counter's error codes (codespace "counter")."""

from sultan import register_error

ErrInvalidAmount = register_error("counter", 2, "invalid amount")
ErrInvalidSender = register_error("counter", 3, "invalid sender")
