import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleContext } from '../../test/integration/module-context';
import { validateAnswers } from '../answers';
import type { ModuleContext } from '../module';
import {
  renderDovecotMasterBlock,
  renderMasterUsers,
  renderRoundcubeConfig,
  renderSsoPlugin,
  renderWebmailLogrotate,
  renderWebmailNginx,
  WEBMAIL_MASTER_SECRET,
  webmailPaths,
} from '../webmail-render';
import { caModule } from './ca';
import { renderPortalEnv } from './portal';
import { webmailModule, webmailTile } from './webmail';

const paths = webmailPaths('debian-12');

describe('webmail', () => {
  let root: string;
  let ctx: ModuleContext;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'setup-webmail-'));
    ctx = await moduleContext(root, {
      answers: { portal: { port: 56443 }, openvpn: { port: 57194 }, mail: { webmail: true } },
    });
    await caModule.apply(ctx);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('asks the portal about every request at the endpoints the portal serves, and logs in through the portal', () => {
    const conf = renderWebmailNginx(ctx);
    expect(conf).toContain('listen 192.168.220.10:8445 ssl;');
    expect(conf).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    // Server-wide: static files too are only for portal users.
    expect(conf).toMatch(/\n {8}auth_request \/_invis_auth;\n/);
    expect(conf).toContain('proxy_pass https://192.168.220.10:56443/auth/forward;');
    expect(conf).toContain('proxy_ssl_verify on;');
    expect(conf).toContain(
      'return 302 https://invis.invis-net.loc:56443/auth/login?https://invis.invis-net.loc:8445$request_uri;',
    );
    // The user only from the portal's answer; the conventional header overwritten too.
    expect(conf).toContain('fastcgi_param INVIS_USER $invis_user;');
    expect(conf).toContain('fastcgi_param HTTP_X_REMOTE_USER $invis_user;');
    expect(conf).not.toMatch(/\$http_x_remote_user|\$http_invis_user/);
    // Only index.php runs; the plugin's source and dot files are not served.
    expect(conf.match(/fastcgi_pass/g)).toHaveLength(1);
    expect(conf).toContain('location ~ \\.(php|inc|sql|sh|dist|md|txt|json|lock|log|xml|ini)$ {');
  });

  it('lets the portal return a login to the webmail origin, and only with the webmail on', () => {
    expect(renderPortalEnv(ctx)).toContain('\nPORTAL_APP_ORIGINS=https://invis.invis-net.loc:8445\n');
    const off = { ...ctx, answers: validateAnswers({ ...ctx.answers, mail: { webmail: false } }, 'en') };
    expect(renderPortalEnv(off)).toContain('\nPORTAL_APP_ORIGINS=\n');
  });

  it('Roundcube talks TLS to the local Dovecot and Postfix, verified, and reads the master password from its file', () => {
    const config = renderRoundcubeConfig(ctx, 'abcdefghijklmnopqrstuvwx');
    expect(config).toContain("$config['imap_host'] = 'ssl://127.0.0.1:993';");
    expect(config).toContain("$config['smtp_host'] = 'tls://127.0.0.1:587';");
    expect(config).toContain("'verify_peer' => true");
    expect(config).toContain("'peer_name' => 'invis.invis-net.loc'");
    expect(config).toContain("$config['plugins'] = ['invis_sso'];");
    expect(config).toContain(`$config['invis_master_password_file'] = '${paths.masterPassword}';`);
    // Never the password itself in the config, never a des_key that breaks out of its string.
    expect(() => renderRoundcubeConfig(ctx, "abc';system('id');//")).toThrow();
  });

  it('the plugin takes the user only from the FastCGI parameter, checks it, and logs in as <user>*webmail', () => {
    const plugin = renderSsoPlugin();
    expect(plugin).toContain("$_SERVER['INVIS_USER']");
    expect(plugin).not.toMatch(/HTTP_|_POST|_GET|_COOKIE|PHP_AUTH/);
    expect(plugin).toContain("preg_match('/^[a-z0-9][a-z0-9._-]{0,63}$/', $user)");
    expect(plugin).toContain("$args['user'] = $this->user . '*webmail';");
    expect(plugin).toContain("$_SESSION['username'] !== $this->user");
  });

  it('Dovecot gets only the hash of the master password, allowed from 127.0.0.1, as a master passdb', () => {
    const file = renderMasterUsers('S3cret-master-pw');
    const hash = createHash('sha512').update('S3cret-master-pw').digest('base64');
    expect(file.split('\n')[1]).toBe(`webmail:{SHA512}${hash}::::::allow_nets=127.0.0.1/32`);
    expect(file).not.toContain('S3cret-master-pw');
    expect(() => renderMasterUsers('a:b\nevil::::')).toThrow();
    const block = renderDovecotMasterBlock(ctx);
    expect(block).toContain('auth_master_user_separator = *');
    expect(block).toContain(`master = yes\n  args = scheme=SHA512 ${paths.dovecotMasterUsers}`);
  });

  it('offers a tile for logged-in users in the LAN section, linked to this server\u2019s webmail over https', () => {
    expect(webmailTile(8445)).toMatchObject({ url: '[servername]:8445/', ssl: true, priv: 'user', position: 'Lokal' });
  });

  it('refuses answers whose webmail port clashes with another port', () => {
    expect(() =>
      validateAnswers({ ...ctx.answers, mail: { webmail: true, webmailPort: ctx.answers.webdav.port } }, 'en'),
    ).toThrow(/webmail port/);
  });

  it('applies into a staging root: every file passes its real checker, secrets 0640 and withheld, again nothing changes', async () => {
    await ctx.secrets.ensure(WEBMAIL_MASTER_SECRET);
    const report = await webmailModule.apply(ctx);
    const written = report.files.filter((f) => f.action !== 'unchanged').map((f) => f.path);
    expect(written).toEqual(
      expect.arrayContaining([
        paths.nginxConf,
        paths.phpFpmConf,
        paths.masterPassword,
        `${paths.pluginDir}/invis_sso.php`,
        `${paths.roundcubeConfigDir}/config.inc.php`,
        '/etc/systemd/system/invis-webmail.service',
        '/etc/systemd/system/invis-webmail-php.service',
        paths.logrotateConf,
      ]),
    );
    const master = (await ctx.secrets.get(WEBMAIL_MASTER_SECRET)) as string;
    expect(JSON.stringify(report)).not.toContain(master);
    expect((await stat(ctx.fs.hostPath(paths.masterPassword))).mode & 0o777).toBe(0o640);
    expect((await stat(ctx.fs.hostPath(`${paths.roundcubeConfigDir}/config.inc.php`))).mode & 0o777).toBe(0o640);
    const again = await webmailModule.apply(ctx);
    expect(again.files.every((f) => f.action === 'unchanged')).toBe(true);
    expect((await webmailModule.verify(ctx)).every((c) => c.ok)).toBe(true);
  });

  it('rotates its logs as the PHP user (weekly, early above 50 MiB, 8 kept), copied and truncated: no signal to the daemons', () => {
    const rule = renderWebmailLogrotate(ctx);
    expect(rule).toContain('\n/var/log/invis-webmail/*.log {\n');
    expect(rule).toContain('\n\tsu invis-webmail invis-webmail\n');
    for (const line of ['weekly', 'maxsize 50M', 'rotate 8', 'compress', 'copytruncate'])
      expect(rule).toContain(`\n\t${line}\n`);
    expect(paths.logs.every((log) => log.startsWith(`${paths.logDir}/`) && log.endsWith('.log'))).toBe(true);
  });

  it('writes nothing when the webmail is off (the default)', async () => {
    const offRoot = await mkdtemp(join(tmpdir(), 'setup-webmail-off-'));
    try {
      const off = await moduleContext(offRoot);
      expect(off.answers.mail.webmail).toBe(false);
      expect((await webmailModule.apply(off)).files).toEqual([]);
      expect(await off.fs.exists(paths.nginxConf)).toBe(false);
    } finally {
      await rm(offRoot, { recursive: true, force: true });
    }
  });
});
