// The webmail's files (module `webmail`): Roundcube from Debian behind nginx, which asks the portal
// about every request (forward authentication, the portal's `/auth/forward`), and a Roundcube
// plugin that logs the user the portal vouched for in to Dovecot and Postfix through a Dovecot
// master user — single sign-on without a second password. Pure renders; the module writes them.
import { createHash } from 'node:crypto';
import { generatedMarker } from '@invis/host';
import type { Answers } from './answers';
import type { ModuleContext } from './module';
import { certificatePaths } from './modules/ca';
import { parseCidr } from './net';

/** The Dovecot master user Roundcube logs in as (`<account>*webmail`); no AD account has a `*`. */
export const WEBMAIL_MASTER_USER = 'webmail';

/** Dovecot's separator between the account and the master user in a login name. */
export const MASTER_SEPARATOR = '*';

/** The secret of the master user (0600 root; Dovecot gets its hash, Roundcube's PHP user a copy). */
export const WEBMAIL_MASTER_SECRET = 'webmail-master';

/** The secret Roundcube's `des_key` is cut from (it encrypts what Roundcube keeps in its session). */
export const WEBMAIL_DES_SECRET = 'webmail-des-key';

/**
 * The portal's forward-auth endpoints (apps/portal/src/forward-auth.ts: FORWARD_AUTH_PATH and
 * FORWARD_LOGIN_PATH). setup does not depend on the portal at run time, so they are repeated
 * here; the whole-mail test proves them against the running portal.
 */
export const PORTAL_FORWARD_AUTH_PATH = '/auth/forward';
export const PORTAL_FORWARD_LOGIN_PATH = '/auth/login';

/** Where the webmail's parts live (Debian's Roundcube and PHP; setup's own folders and units). */
export interface WebmailPaths {
  /** Debian's Roundcube: its web root (only `index.php` and static files) and its plugin folder. */
  publicHtml: string;
  pluginDir: string;
  /** Roundcube's main defaults as Debian ships them (the config folder below includes them). */
  defaults: string;
  /** setup's own configuration: nginx, PHP-FPM, Roundcube's config folder, the master password copy. */
  etc: string;
  roundcubeConfigDir: string;
  nginxConf: string;
  phpFpmConf: string;
  masterPassword: string;
  /** Roundcube's database and temp files (the PHP user's), logs. */
  dataDir: string;
  logDir: string;
  /** The PHP-FPM socket folder (`RuntimeDirectory=`) and socket; nginx's pid folder (its own unit's). */
  runDir: string;
  socket: string;
  nginxRunDir: string;
  /** Where nginx's workers keep request bodies (not in Roundcube's data, which only the PHP user enters). */
  nginxTempDir: string;
  /** Dovecot's passwd-file of master users (only the hash). */
  dovecotMasterUsers: string;
  /** The PHP user (a system user of its own: only it reads the master password) and nginx's workers. */
  phpUser: string;
  nginxUser: string;
  /** The units and their programs. */
  nginxUnit: string;
  phpUnit: string;
  nginx: string;
  phpFpm: string;
  /** Debian packages the module needs (the `check` module does not ask: webmail is optional). */
  packages: readonly string[];
  /** The logrotate rule of the log folder, and the logs the module makes the PHP user's before the daemons open them. */
  logrotateConf: string;
  logNames: { nginxAccess: string; nginxError: string; phpFpm: string; phpError: string };
  logs: readonly string[];
}

/** PHP's version per platform: Debian names PHP-FPM's program after it. */
const PHP_VERSION: Readonly<Record<string, string>> = { 'debian-12': '8.2', 'debian-13': '8.4' };

/**
 * The webmail's paths on a platform.
 * @param profileId the platform profile's id (`debian-12`, …)
 * @returns the paths
 */
export function webmailPaths(profileId: string): WebmailPaths {
  const php = PHP_VERSION[profileId] ?? '8.2';
  const etc = '/etc/invis/webmail';
  const logDir = '/var/log/invis-webmail';
  const logNames = {
    nginxAccess: 'nginx-access.log',
    nginxError: 'nginx-error.log',
    phpFpm: 'php-fpm.log',
    phpError: 'php-error.log',
  };
  return {
    publicHtml: '/var/lib/roundcube/public_html',
    pluginDir: '/var/lib/roundcube/plugins/invis_sso',
    defaults: '/etc/roundcube/defaults.inc.php',
    etc,
    roundcubeConfigDir: `${etc}/roundcube`,
    nginxConf: `${etc}/nginx.conf`,
    phpFpmConf: `${etc}/php-fpm.conf`,
    masterPassword: `${etc}/master-password`,
    dataDir: '/var/lib/invis/webmail',
    logDir,
    runDir: '/run/invis-webmail',
    socket: '/run/invis-webmail/php.sock',
    nginxRunDir: '/run/invis-webmail-nginx',
    nginxTempDir: '/var/lib/invis/webmail-nginx',
    dovecotMasterUsers: '/etc/dovecot/invis-master-users',
    phpUser: 'invis-webmail',
    nginxUser: 'www-data',
    nginxUnit: 'invis-webmail',
    phpUnit: 'invis-webmail-php',
    nginx: '/usr/sbin/nginx',
    phpFpm: `/usr/sbin/php-fpm${php}`,
    packages: ['nginx', `php${php}-fpm`, 'roundcube-core', 'roundcube-sqlite3', 'logrotate'],
    logrotateConf: '/etc/logrotate.d/invis-webmail',
    logNames,
    logs: Object.values(logNames).map((name) => `${logDir}/${name}`),
  };
}

/** What the renders read. */
export type WebmailRenderContext = Pick<ModuleContext, 'answers' | 'profile'>;

const lanAddress = (answers: Answers): string =>
  (parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>).address;

const fqdn = (answers: Answers): string => `${answers.hostname}.${answers.domain}`;

/**
 * The webmail's origin as browsers see it (the portal lets a login return there).
 * @param answers the answers
 * @returns `https://<fqdn>:<port>`
 */
export const webmailOrigin = (answers: Answers): string => `https://${fqdn(answers)}:${answers.mail.webmailPort}`;

/** The portal as nginx reaches it (its TLS front on the LAN address, verified against the CA). */
const portalUpstream = (answers: Answers): string => `https://${lanAddress(answers)}:${answers.portal.port}`;

/** One line of a secret file: refuses what would break the line it is put into. */
function secretLine(value: string, what: string): string {
  if (value === '' || /[\s:'"\\]/.test(value))
    throw new Error(`the ${what} is empty or has a character the file cannot hold`);
  return value;
}

/**
 * The whole nginx.conf of the webmail's own nginx: TLS ≥ 1.2 with the `ca` web certificate on the
 * LAN address at `mail.webmailPort`; every request (static files too) is first asked of the portal
 * (`auth_request`, the browser's cookies go along); without a portal session the browser goes to
 * the portal's login and comes back; PHP gets the portal's answer as the FastCGI parameter
 * `INVIS_USER` — set by nginx only, as request headers reach PHP as `HTTP_*`. Only Roundcube's
 * `index.php` runs; no other PHP file, dot file or source file is served.
 * @param ctx answers and profile
 * @param check for the checker: paths placed below the staging root, and a listen address of its
 *   own (`nginx -t` binds it: the LAN address may be missing or in use by the running nginx)
 * @returns the file content
 */
export function renderWebmailNginx(
  ctx: WebmailRenderContext,
  check: { place: (path: string) => string; listen: string } | undefined = undefined,
): string {
  const place = check?.place ?? ((p: string) => p);
  const { answers } = ctx;
  const w = webmailPaths(ctx.profile.id);
  const tls = certificatePaths(ctx);
  const portal = portalUpstream(answers);
  const name = fqdn(answers);
  return `${generatedMarker('@invis/setup-1', 'hash')}
# Webmail (invis-setup module webmail): Roundcube only for users with a portal session.
user ${w.nginxUser};
worker_processes 1;
pid ${place(w.nginxRunDir)}/nginx.pid;
error_log ${place(w.logDir)}/${w.logNames.nginxError};
events {
    worker_connections 256;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${place(w.logDir)}/${w.logNames.nginxAccess};
    server_tokens off;
    sendfile on;
    client_max_body_size 25m;
    client_body_temp_path ${place(w.nginxTempDir)}/body;
    proxy_temp_path ${place(w.nginxTempDir)}/proxy;
    fastcgi_temp_path ${place(w.nginxTempDir)}/fastcgi;
    uwsgi_temp_path ${place(w.nginxTempDir)}/uwsgi;
    scgi_temp_path ${place(w.nginxTempDir)}/scgi;
    server {
        listen ${check?.listen ?? `${lanAddress(answers)}:${answers.mail.webmailPort}`} ssl;
        server_name ${name};
        ssl_certificate ${place(tls.certs.web.cert)};
        ssl_certificate_key ${place(tls.certs.web.key)};
        ssl_protocols TLSv1.2 TLSv1.3;
        root ${w.publicHtml};
        index index.php;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy same-origin always;

        # Every request is the portal's decision: session valid, account enabled, from where.
        auth_request /_invis_auth;
        auth_request_set $invis_user $upstream_http_x_invis_user;
        error_page 401 = @invis_login;

        location = /_invis_auth {
            internal;
            auth_request off;
            proxy_pass ${portal}${PORTAL_FORWARD_AUTH_PATH};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate ${place(tls.caCert)};
            proxy_ssl_name ${name};
            proxy_ssl_server_name on;
        }
        location @invis_login {
            auth_request off;
            return 302 https://${name}:${answers.portal.port}${PORTAL_FORWARD_LOGIN_PATH}?https://${name}:${answers.mail.webmailPort}$request_uri;
        }
        location = /index.php {
            fastcgi_pass unix:${place(w.socket)};
            fastcgi_param SCRIPT_FILENAME ${w.publicHtml}/index.php;
            fastcgi_param SCRIPT_NAME /index.php;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param DOCUMENT_URI $document_uri;
            fastcgi_param DOCUMENT_ROOT $document_root;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param REQUEST_SCHEME https;
            fastcgi_param HTTPS on;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param REMOTE_PORT $remote_port;
            fastcgi_param SERVER_ADDR $server_addr;
            fastcgi_param SERVER_PORT $server_port;
            fastcgi_param SERVER_NAME ${name};
            # The portal's answer; a client header of any name arrives as HTTP_*, never as this.
            fastcgi_param INVIS_USER $invis_user;
            # And the conventional header, overwritten (nginx drops the client's own of that name).
            fastcgi_param HTTP_X_REMOTE_USER $invis_user;
        }
        location ~ (^|/)\\. {
            return 404;
        }
        location ~ \\.(php|inc|sql|sh|dist|md|txt|json|lock|log|xml|ini)$ {
            return 404;
        }
        location / {
            try_files $uri $uri/ =404;
        }
    }
}
`;
}

/**
 * PHP-FPM for Roundcube alone: its own master (root) with one pool as the PHP user, on a unix
 * socket only nginx's workers may open; Roundcube's config folder through the environment; errors
 * logged, not shown.
 * @param ctx the profile
 * @param check for the checker: paths placed below the staging root, the pool as another user
 *   (the PHP user is made by the apply after the check)
 * @returns the file content
 */
export function renderWebmailPhpFpm(
  ctx: Pick<ModuleContext, 'profile'>,
  check: { place: (path: string) => string; user: string; group: string } | undefined = undefined,
): string {
  const w = webmailPaths(ctx.profile.id);
  const place = check?.place ?? ((p: string) => p);
  return `${generatedMarker('@invis/setup-1', 'semicolon')}
; PHP-FPM of the webmail (invis-setup module webmail): Roundcube as ${w.phpUser}.
[global]
pid = ${place(w.runDir)}/php-fpm.pid
error_log = ${place(w.logDir)}/${w.logNames.phpFpm}
daemonize = no

[webmail]
user = ${check?.user ?? w.phpUser}
group = ${check?.group ?? w.phpUser}
listen = ${place(w.socket)}
listen.owner = ${w.nginxUser}
listen.group = ${w.nginxUser}
listen.mode = 0600
pm = ondemand
pm.max_children = 8
pm.process_idle_timeout = 60s
security.limit_extensions = .php
clear_env = yes
env[ROUNDCUBE_CONFIG_DIR] = ${w.roundcubeConfigDir}
php_admin_flag[display_errors] = off
php_admin_flag[log_errors] = on
php_admin_value[error_log] = ${w.logDir}/${w.logNames.phpError}
php_admin_value[upload_max_filesize] = 20M
php_admin_value[post_max_size] = 25M
php_admin_value[memory_limit] = 128M
; Roundcube's sessions live in its database and are cleaned by PHP's session GC, which Debian's
; php.ini turns off (probability 0) for its own cron job on files.
php_admin_value[session.gc_probability] = 1
php_admin_value[session.gc_divisor] = 100
`;
}

/** A PHP single-quoted string literal. */
const phpString = (value: string): string => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;

/**
 * Roundcube's config.inc.php (0640 root:<PHP user>): SQLite in the PHP user's data folder, IMAP
 * over TLS and submission with STARTTLS to the local Dovecot and Postfix on 127.0.0.1 (the only
 * address the master user may log in from), both verified against the CA with the mail
 * certificate's name; addresses `<account>@<domain>`; only the single-sign-on plugin.
 * @param ctx answers and profile
 * @param desKey Roundcube's `des_key` (24 characters)
 * @returns the file content
 */
export function renderRoundcubeConfig(ctx: WebmailRenderContext, desKey: string): string {
  const { answers } = ctx;
  const w = webmailPaths(ctx.profile.id);
  const tls = {
    ssl: {
      verify_peer: true,
      verify_peer_name: true,
      allow_self_signed: false,
      cafile: certificatePaths(ctx).caCert,
      peer_name: fqdn(answers),
    },
  };
  const php = (value: unknown): string => {
    if (typeof value === 'string') return phpString(value);
    if (typeof value === 'boolean' || typeof value === 'number') return String(value);
    if (Array.isArray(value)) return `[${value.map(php).join(', ')}]`;
    const entries = Object.entries(value as Record<string, unknown>);
    return `[${entries.map(([k, v]) => `${phpString(k)} => ${php(v)}`).join(', ')}]`;
  };
  const config: [string, unknown][] = [
    ['db_dsnw', `sqlite:///${w.dataDir}/roundcube.db?mode=0600`],
    ['imap_host', `ssl://127.0.0.1:993`],
    ['imap_conn_options', tls],
    ['smtp_host', `tls://127.0.0.1:587`],
    ['smtp_conn_options', tls],
    ['mail_domain', answers.domain],
    ['username_domain', ''],
    ['login_lc', 2],
    ['des_key', secretLine(desKey, 'des_key')],
    ['plugins', ['invis_sso']],
    ['temp_dir', `${w.dataDir}/temp/`],
    ['log_dir', `${w.logDir}/`],
    ['log_driver', 'file'],
    ['product_name', 'invis Webmail'],
    ['skin', 'elastic'],
    ['support_url', ''],
    ['enable_spellcheck', false],
    ['enable_installer', false],
    ['use_https', true],
    ['ip_check', true],
    ['session_samesite', 'Strict'],
    ['x_frame_options', 'sameorigin'],
    ['invis_master_password_file', w.masterPassword],
  ];
  return [
    '<?php',
    generatedMarker('@invis/setup-1', 'slash'),
    '// Roundcube of the invis webmail (invis-setup module webmail).',
    '$config = [];',
    ...config.map(([key, value]) => `$config[${phpString(key)}] = ${php(value)};`),
    '',
  ].join('\n');
}

/**
 * defaults.inc.php of setup's config folder: Roundcube reads its defaults from the config folder it
 * is given, so this one takes Debian's.
 * @param ctx the profile
 * @returns the file content
 */
export function renderRoundcubeDefaults(ctx: Pick<ModuleContext, 'profile'>): string {
  const w = webmailPaths(ctx.profile.id);
  return `<?php\n${generatedMarker('@invis/setup-1', 'slash')}\n// Debian's defaults; config.inc.php beside this overrides them.\nrequire ${phpString(w.defaults)};\n`;
}

/**
 * The single-sign-on plugin `invis_sso`. The account is the one the portal vouched for: nginx puts
 * it into the FastCGI parameter `INVIS_USER` (no request header can). Without it — or with a name
 * that is not a plain account name — every request gets 403. A Roundcube session of another
 * account is ended before anything else; without a session the request logs in at once (the
 * typed form is never used). Roundcube logs in to Dovecot and Postfix as `<account>*webmail` with
 * the master password, which is given only at connect time (read from the PHP user's 0640 copy),
 * so the session stores a placeholder instead of a password.
 * @returns the PHP file
 */
export function renderSsoPlugin(): string {
  const master = phpString(`${MASTER_SEPARATOR}${WEBMAIL_MASTER_USER}`);
  return `<?php
${generatedMarker('@invis/setup-1', 'slash')}
// invis single sign-on (invis-setup module webmail): Roundcube for the account the portal
// vouched for, logged in to Dovecot and Postfix through the webmail master user.
class invis_sso extends rcube_plugin
{
    private $user = '';

    public function init()
    {
        if (PHP_SAPI === 'cli') {
            return;
        }
        $user = isset($_SERVER['INVIS_USER']) ? strtolower((string) $_SERVER['INVIS_USER']) : '';
        // An AD account name as Dovecot reads it; never the master separator or a domain.
        if (!preg_match('/^[a-z0-9][a-z0-9._-]{0,63}$/', $user)) {
            http_response_code(403);
            exit;
        }
        $this->user = $user;
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('authenticate', [$this, 'authenticate']);
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
        $this->add_hook('smtp_connect', [$this, 'smtp_connect']);
    }

    public function startup($args)
    {
        // The portal login in this browser changed: the other account's session ends first.
        if (!empty($_SESSION['user_id']) && (!isset($_SESSION['username']) || $_SESSION['username'] !== $this->user)) {
            rcmail::get_instance()->kill_session();
        }
        if (empty($_SESSION['user_id'])) {
            $args['task'] = 'login';
            $args['action'] = 'login';
        }
        return $args;
    }

    public function authenticate($args)
    {
        $args['user'] = $this->user;
        // Not a password: the master password is given at connect time and never kept in the session.
        $args['pass'] = 'invis-sso';
        $args['valid'] = true;
        $args['cookiecheck'] = false;
        return $args;
    }

    public function storage_connect($args)
    {
        $args['user'] = $this->user . ${master};
        $args['pass'] = $this->master_password();
        return $args;
    }

    public function smtp_connect($args)
    {
        $args['smtp_user'] = $this->user . ${master};
        $args['smtp_pass'] = $this->master_password();
        return $args;
    }

    private function master_password()
    {
        $file = rcmail::get_instance()->config->get('invis_master_password_file');
        $password = is_string($file) ? @file_get_contents($file) : false;
        if ($password === false || trim($password) === '') {
            rcube::raise_error(['code' => 500, 'message' => 'invis_sso: the master password cannot be read'], true, false);
            http_response_code(500);
            exit;
        }
        return trim($password);
    }
}
`;
}

/**
 * Dovecot's master-user file: only `webmail`, with the SHA-512 of its password, allowed only from
 * 127.0.0.1 (Roundcube on this server). Unsalted SHA-512 is enough for a 192-bit random secret
 * (no dictionary reaches it) and keeps the file the same at every apply.
 * @param password the master password
 * @returns the file content (0640 root:dovecot)
 */
export function renderMasterUsers(password: string): string {
  const hash = createHash('sha512').update(secretLine(password, 'master password')).digest('base64');
  return `${generatedMarker('@invis/setup-1', 'hash')}\n${WEBMAIL_MASTER_USER}:{SHA512}${hash}::::::allow_nets=127.0.0.1/32\n`;
}

/**
 * The block mailserver appends to dovecot.conf when the webmail is on: the master passdb. A login
 * `<account>*webmail` with the master password is `<account>` (the userdb must know it); a plain
 * login never consults it.
 * @param ctx the profile
 * @returns the block
 */
export function renderDovecotMasterBlock(ctx: Pick<ModuleContext, 'profile'>): string {
  const w = webmailPaths(ctx.profile.id);
  return `# Webmail single sign-on (invis-setup module webmail): Roundcube logs in as <account>*${WEBMAIL_MASTER_USER}.
auth_master_user_separator = ${MASTER_SEPARATOR}
passdb {
  driver = passwd-file
  master = yes
  args = scheme=SHA512 ${w.dovecotMasterUsers}
}
`;
}

/**
 * sysusers.d entry of the PHP user (no login, its data folder as home).
 * @param ctx the profile
 * @returns the file content
 */
export function renderWebmailSysusers(ctx: Pick<ModuleContext, 'profile'>): string {
  const w = webmailPaths(ctx.profile.id);
  return `${generatedMarker('@invis/setup-1', 'hash')}\nu ${w.phpUser} - "invis webmail (Roundcube)" ${w.dataDir} /usr/sbin/nologin\n`;
}

/**
 * logrotate's rule for the webmail's logs (Debian's daily logrotate run picks it up). It works as
 * the PHP user, whose folder it is, so a link planted there cannot make root's logrotate write
 * elsewhere; the logs are the PHP user's too (the module makes them before nginx and PHP-FPM open
 * them as root) and are copied and truncated, so the daemons keep writing without a signal.
 * @param ctx the profile
 * @param check for `logrotate -d` before the PHP user exists: a user and log folder of the check's own
 * @returns the file content
 */
export function renderWebmailLogrotate(
  ctx: Pick<ModuleContext, 'profile'>,
  check?: { logDir: string; user: string; group: string },
): string {
  const w = webmailPaths(ctx.profile.id);
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    `${check?.logDir ?? w.logDir}/*.log {`,
    `\tsu ${check?.user ?? w.phpUser} ${check?.group ?? w.phpUser}`,
    '\tweekly',
    '\tmaxsize 50M',
    '\trotate 8',
    '\tcompress',
    '\tdelaycompress',
    '\tmissingok',
    '\tnotifempty',
    '\tcopytruncate',
    '}',
    '',
  ].join('\n');
}
