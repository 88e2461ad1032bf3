// @invis/dns-zone: DNS zones and records: master files, AD dnsRecord codec, RFC 2136 updates with TSIG, DDNS.
// Public API: every exported symbol is listed here by name.
export {};
