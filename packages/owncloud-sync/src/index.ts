// @invis/owncloud-sync: WebDAV/ownCloud client and two-way sync engine with a journal and conflict copies.
// Public API: every exported symbol is listed here by name.
export {};
