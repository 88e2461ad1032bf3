// Users on a real Samba AD DC: create with password + RFC2307 attributes and list, @invis/ad-client
// vs OpenLDAP's ldapadd (one LDIF) / ldapsearch (paged) and a `samba-tool user create` loop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdClient, USER_ATTRIBUTES } from '@invis/ad-client';
import { startSambaDc } from '@invis/testbed';
import { execa } from 'execa';
import { type Benchmark, type Comparison, measure, measureAlternating } from './lib';
import { adminLdapsearch } from './peers';

const PW = 'Bench!Pass-2026';
const pwdB64 = Buffer.from(`"${PW}"`, 'utf16le').toString('base64');

/** LDIF for users the way ldapadd must do it: numbers precomputed (it cannot read the RID). */
function usersLdif(baseDN: string, prefix: string, from: number, n: number, withPassword: boolean): string {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) {
    const sam = `${prefix}${i}`;
    out.push(
      [
        `dn: CN=${sam},CN=Users,${baseDN}`,
        'objectClass: top',
        'objectClass: person',
        'objectClass: organizationalPerson',
        'objectClass: user',
        `cn: ${sam}`,
        `sAMAccountName: ${sam}`,
        `userPrincipalName: ${sam}@invis.test`,
        `displayName: ${sam}`,
        `mail: ${sam}@invis.test`,
        ...(withPassword ? [`unicodePwd:: ${pwdB64}`, 'userAccountControl: 512'] : ['userAccountControl: 514']),
        `uidNumber: ${100000 + i}`,
        'gidNumber: 20513',
        'loginShell: /bin/bash',
        `unixHomeDirectory: /home/${sam}`,
        `msSFU30Name: ${sam}`,
        'msSFU30NisDomain: invis',
        '',
      ].join('\n'),
    );
  }
  return out.join('\n');
}

export const benchmark: Benchmark = {
  name: 'ad-users',
  description:
    'create users with password + RFC2307 attributes and list them: @invis/ad-client vs ldapadd / ldapsearch (paged) / samba-tool, Samba AD DC on loopback',
  async run({ quick }) {
    const nCreate = quick ? 50 : 1000;
    const nTool = quick ? 5 : 40;
    const nList = quick ? 500 : 5000;
    const dc = await startSambaDc();
    const dir = await mkdtemp(join(tmpdir(), 'bench-ad-users-'));
    const { info } = dc;
    const ldapEnv = { LDAPTLS_CACERT: info.caFile };
    const ad = createAdClient({
      url: info.ldapsUrl,
      bindDN: info.adminDN,
      password: info.adminPassword,
      ca: info.caPem,
    });
    try {
      const rows: Comparison[] = [];
      // warm both sides once (connection, domain facts, Domain Users gid, ldapadd's libraries)
      await ad.users.create({ sAMAccountName: 'warm0', password: PW });
      const warmLdif = join(dir, 'warm.ldif');
      await writeFile(warmLdif, usersLdif(info.baseDN, 'warmldif', 0, 1, true));
      const ldapadd = (file: string) =>
        execa('ldapadd', ['-x', '-H', info.ldapsUrl, '-D', info.adminDN, '-w', info.adminPassword, '-f', file], {
          env: ldapEnv,
        });
      await ldapadd(warmLdif);
      // alternating rounds of 100 users: one ldapadd process (one LDIF) per round against 100
      // sequential users.create calls
      const perRound = Math.min(100, nCreate);
      const rounds = Math.ceil(nCreate / perRound);
      const ldifFiles: string[] = [];
      for (let r = 0; r < rounds; r++) {
        const file = join(dir, `users-${r}.ldif`);
        await writeFile(file, usersLdif(info.baseDN, 'ldif', r * perRound, perRound, true));
        ldifFiles.push(file);
      }
      const [ours, peerAdd] = await measureAlternating(
        {
          label: 'ad-client users.create',
          op: async (r) => {
            for (let i = r * perRound; i < (r + 1) * perRound; i++)
              await ad.users.create({ sAMAccountName: `ours${i}`, password: PW, displayName: `ours${i}` });
          },
        },
        { label: `ldapadd (1 LDIF of ${perRound} per round)`, op: (r) => ldapadd(ldifFiles[r] as string) },
        rounds,
        perRound,
      );
      rows.push({ task: 'create user + password + RFC2307', ours, peer: peerAdd, target: '≤ 1.15× of ldapadd' });

      const tool = await measure(
        `samba-tool user create (×${nTool}, per op)`,
        nTool,
        (i) =>
          execa('samba-tool', [
            'user',
            'create',
            `tool${i + 1}`,
            PW,
            `--uid-number=${200000 + i + 1}`,
            '--gid-number=20513',
            '--login-shell=/bin/bash',
            `--unix-home=/home/tool${i + 1}`,
            '--nis-domain=invis',
            '-H',
            info.ldapUrl,
            `-U`,
            `Administrator%${info.adminPassword}`,
          ]),
        0,
      );
      rows.push({
        task: 'create user + password + RFC2307',
        ours,
        peer: tool,
        target: '≥ 10× faster than samba-tool (below the floor: ldapadd itself is only ~7× faster)',
      });

      // fill up to nList users without passwords (fast), then list all of them
      const have = Math.ceil(nCreate / 100) * 100 * 2 + nTool + 6;
      if (nList > have) {
        const fill = join(dir, 'fill.ldif');
        await writeFile(fill, usersLdif(info.baseDN, 'fill', 0, nList - have, false));
        await execa('ldapadd', ['-x', '-H', info.ldapsUrl, '-D', info.adminDN, '-w', info.adminPassword, '-f', fill], {
          env: ldapEnv,
        });
      }
      const attrs = [...USER_ATTRIBUTES]; // exactly what users.list reads
      const listRounds = quick ? 2 : 6;
      for (const pageSize of [500, 1000]) {
        const paged = createAdClient({
          url: info.ldapsUrl,
          bindDN: info.adminDN,
          password: info.adminPassword,
          ca: info.caPem,
          pageSize,
        });
        try {
          let listed = 0;
          let ldapCount = 0;
          await paged.users.list(); // connect and learn the domain first
          const [list, search] = await measureAlternating(
            {
              label: 'ad-client users.list',
              op: async () => {
                listed = (await paged.users.list()).length;
              },
            },
            {
              label: `ldapsearch -E pr=${pageSize}`,
              op: async () => {
                const r = await adminLdapsearch(info, [
                  '-b',
                  info.baseDN,
                  '-E',
                  `pr=${pageSize}/noprompt`,
                  '(&(objectCategory=person)(objectClass=user))',
                  ...attrs,
                ]);
                ldapCount = r.match(/^dn: /gm)?.length ?? 0;
              },
            },
            listRounds,
          );
          rows.push({
            task: `list ${listed} users, ${pageSize} per page (ldapsearch: ${ldapCount})`,
            ours: list,
            peer: search,
            target: '≤ 1.15× of ldapsearch',
          });
        } finally {
          await paged.close();
        }
      }
      return rows;
    } finally {
      await ad.close();
      await dc.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
