// @invis/samba-shares: Samba file-server shares: typed model, smb.shares.conf render and parse, testparm validation, atomic apply with reload
// Public API: every exported symbol is listed here by name.
export {};
