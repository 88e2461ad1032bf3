// @invis/dhcp-config: DHCPv4 subnets, pools and reservations rendered for Kea and ISC dhcpd; lease files read back.
// Public API: every exported symbol is listed here by name.
export {};
