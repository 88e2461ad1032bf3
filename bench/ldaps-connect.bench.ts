// LDAPS connect + simple bind + rootDSE read: a Node LDAP client vs OpenLDAP's ldapsearch.
// Until @invis/ad-client exists "ours" is plain ldapts, the library ad-client builds on.
import { startSambaDc } from '@invis/testbed';
import { execa } from 'execa';
import { Client } from 'ldapts';
import { type Benchmark, measure } from './lib';

export const benchmark: Benchmark = {
  name: 'ldaps-connect',
  description: 'LDAPS connect + bind + rootDSE read, Node (ldapts) vs ldapsearch, Samba AD DC on loopback',
  async run({ quick }) {
    const dc = await startSambaDc();
    const n = quick ? 20 : 200;
    try {
      const { info } = dc;
      const ours = await measure('ldapts', n, async () => {
        const client = new Client({ url: info.ldapsUrl, tlsOptions: { ca: info.caPem } });
        await client.bind(info.adminDN, info.adminPassword);
        await client.search('', { scope: 'base', attributes: ['defaultNamingContext'] });
        await client.unbind();
      });
      const peer = await measure('ldapsearch', n, () =>
        execa(
          'ldapsearch',
          [
            '-LLL',
            '-x',
            '-H',
            info.ldapsUrl,
            '-D',
            info.adminDN,
            '-w',
            info.adminPassword,
            '-b',
            '',
            '-s',
            'base',
            'defaultNamingContext',
          ],
          { env: { LDAPTLS_CACERT: info.caFile } },
        ),
      );
      return [{ task: 'connect+bind+rootDSE', ours, peer, target: 'faster than spawning ldapsearch' }];
    } finally {
      await dc.stop();
    }
  },
};
