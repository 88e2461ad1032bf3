// LDAPS connect + simple bind + rootDSE read: @invis/ad-client vs OpenLDAP's ldapsearch.
import { createAdClient } from '@invis/ad-client';
import { startSambaDc } from '@invis/testbed';
import { type Benchmark, measure } from './lib';
import { adminLdapsearch } from './peers';

export const benchmark: Benchmark = {
  name: 'ldaps-connect',
  description: 'LDAPS connect + bind + rootDSE read, @invis/ad-client vs ldapsearch, Samba AD DC on loopback',
  async run({ quick }) {
    const dc = await startSambaDc();
    const n = quick ? 20 : 200;
    try {
      const { info } = dc;
      const ours = await measure('ad-client', n, async () => {
        const ad = createAdClient({
          url: info.ldapsUrl,
          bindDN: info.adminDN,
          password: info.adminPassword,
          ca: info.caPem,
        });
        await ad.rootDse();
        await ad.close();
      });
      const peer = await measure('ldapsearch', n, () =>
        adminLdapsearch(info, ['-b', '', '-s', 'base', 'defaultNamingContext']),
      );
      return [{ task: 'connect+bind+rootDSE', ours, peer, target: 'faster than spawning ldapsearch' }];
    } finally {
      await dc.stop();
    }
  },
};
