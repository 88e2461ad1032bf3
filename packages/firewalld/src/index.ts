// @invis/firewalld: firewalld zones, services and policies as typed data; XML render/parse; validated apply.
// Public API: every exported symbol is listed here by name.
export {};
