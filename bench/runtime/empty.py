"""Start-up cost: a program that does nothing."""
