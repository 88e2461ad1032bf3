// @invis/branch-server-1: Agent for a branch office: firewall/router, VPN to HQ, file server and ownCloud sync.
// Public API: every exported symbol is listed here by name.
export {};
