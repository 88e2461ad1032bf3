// @invis/portal-1: The invis portal: web UI and REST API for users and admins.
// Public API: every exported symbol is listed here by name.
export {};
