// @invis/setup-1: The invis server setup wizard and CLI (successor of sine2).
// Public API: every exported symbol is listed here by name.
export {};
