"""x/auth for Sultan: accounts, module accounts and the signature/fee ante chain."""
