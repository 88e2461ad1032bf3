// @invis/mail-rewrite: Postfix address rewriting, per-sender relays, fetchmail configuration and vacation from invis mail accounts.
// Public API: every exported symbol is listed here by name.
export {};
