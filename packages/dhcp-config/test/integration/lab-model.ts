import type { DhcpLabInfo } from '@invis/testbed';
import type { DhcpConfigInput } from '../../src/index';

/**
 * The invis layout inside a test lab: the server is router, DNS, NTP and WINS; pool .200–.220;
 * one reservation for `mac` at `.<host>`.
 */
export function labModel(
  lab: DhcpLabInfo,
  reservation: { mac: string; host: number; hostname: string; comment: string },
  extra: Partial<DhcpConfigInput> & { search?: string[] } = {},
): DhcpConfigInput {
  const { search = ['invis.test'], ...rest } = extra;
  return {
    validLifetime: 600,
    maxLifetime: 1200,
    options: {
      domainNameServers: [lab.serverAddress],
      domainName: 'invis.test',
      domainSearch: search,
      ntpServers: [lab.serverAddress],
      netbiosNameServers: [lab.serverAddress],
      netbiosNodeType: 8,
    },
    subnets: [
      {
        cidr: lab.subnet,
        pools: [{ start: `${lab.net}.200`, end: `${lab.net}.220` }],
        options: { routers: [lab.serverAddress] },
      },
    ],
    reservations: [
      {
        mac: reservation.mac,
        ip: `${lab.net}.${reservation.host}`,
        hostname: reservation.hostname,
        comment: reservation.comment,
      },
    ],
    ...rest,
  };
}
