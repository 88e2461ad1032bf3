// @invis/ad-client: Active Directory over LDAP for invis: users, groups, computers, policy, authentication and the invis directory objects.
// Public API: every exported symbol is listed here by name.
export {};
