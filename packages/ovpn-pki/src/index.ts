// @invis/ovpn-pki: In-process PKI and OpenVPN configuration: CA, certificates, CRL, tls-crypt, server configs and client bundles.
// Public API: every exported symbol is listed here by name.
export {};
