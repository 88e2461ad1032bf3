import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoopbackAddress, reserveLoopbackAddress } from './loopback';
import { type Daemon, run, spawnDaemon, waitUntilReady } from './process';

/** Which WebDAV server: rclone serve webdav, Apache mod_dav, or the ownCloud-compatible SabreDAV shim. */
export type WebDavKind = 'rclone' | 'apache' | 'owncloud-shim';

/** Connection data of a running test WebDAV server; plain data. */
export interface WebDavInfo {
  kind: WebDavKind;
  /** Base collection URL with trailing slash (for the shim: `…/remote.php/webdav/`). */
  url: string;
  /** Server root for clients like owncloudcmd that want it (`http://addr:port`). */
  origin: string;
  address: string;
  port: number;
  username: string;
  password: string;
  /** Directory on disk that the server exports. */
  dataDir: string;
  /** Shim only: where chunked uploads (`remote.php/dav/uploads/<user>/<id>`) are kept until their MOVE. */
  uploadsDir?: string;
  /** Shim only: folder ETags come from a cache renewed on every write, as ownCloud's file cache (see {@link WebDavOptions.etagCache}). */
  etagCache?: boolean;
  dir: string;
}

/** A running test WebDAV server. */
export interface WebDavServer {
  readonly info: WebDavInfo;
  readonly readyMs: number;
  /** Stops and starts it again on the same address, port and data (reconnect tests). */
  restart(): Promise<number>;
  /** Stops it without releasing the address or data (to simulate an outage); `restart()` brings it back. */
  halt(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startWebDav}. */
export interface WebDavOptions {
  kind: WebDavKind;
  /** Default 8080. */
  port?: number;
  /**
   * Shim only. Default false: a folder's ETag is a hash of its whole subtree, computed for every
   * listing (a listing costs the server a walk of everything below the folder). True: as ownCloud,
   * which keeps folder ETags in its file cache and renews those above a path on every write, so
   * a listing costs the server the folder's own entries. Changes made directly on disk are seen
   * when the folder they are in is listed (its entries are compared with the cached ones).
   */
  etagCache?: boolean;
}

const USER = 'alice';
const APACHE_MODULES = '/usr/lib/apache2/modules';

/**
 * Starts a WebDAV server on its own loopback address with a private config, data, pid and log
 * directory: `rclone serve webdav`, Apache `mod_dav_fs` (as www-data, Basic auth), or the
 * ownCloud-compatible SabreDAV shim on `php -S` (status.php, capabilities, `oc:id`, recursive
 * directory ETags, `X-OC-Mtime`) that `owncloudcmd` accepts.
 */
export async function startWebDav(options: WebDavOptions): Promise<WebDavServer> {
  const dir = await mkdtemp(join(tmpdir(), `invis-webdav-${options.kind}-`));
  let loopback: LoopbackAddress | undefined;
  try {
    loopback = await reserveLoopbackAddress();
    const { address } = loopback;
    const port = options.port ?? 8080;
    const password = `pw-${Math.random().toString(36).slice(2, 12)}`;
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const origin = `http://${address}:${port}`;
    const path = options.kind === 'apache' ? '/dav/' : options.kind === 'owncloud-shim' ? '/remote.php/webdav/' : '/';
    const info: WebDavInfo = {
      kind: options.kind,
      url: `${origin}${path}`,
      origin,
      address,
      port,
      username: USER,
      password,
      dataDir,
      dir,
    };
    if (options.kind === 'owncloud-shim') {
      info.uploadsDir = join(dir, 'uploads');
      await mkdir(info.uploadsDir);
      if (options.etagCache) info.etagCache = true;
    }
    const spawn = await prepare(info);
    const probe = async (): Promise<boolean> => {
      const res = await fetch(info.url, {
        method: 'PROPFIND',
        headers: { depth: '0', authorization: `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}` },
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return res.status === 207;
    };
    let daemon: Daemon = spawn();
    const readyMs = await waitUntilReady(daemon, probe, 20_000, 25);
    const lb = loopback;
    return {
      info,
      readyMs,
      async halt() {
        await daemon.stop();
      },
      async restart() {
        await daemon.stop();
        daemon = spawn();
        return waitUntilReady(daemon, probe, 20_000, 25);
      },
      async stop() {
        await daemon.stop();
        await lb.release();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await loopback?.release();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Writes the server's private config and returns a function that spawns it. */
async function prepare(info: WebDavInfo): Promise<() => Daemon> {
  const { dir, dataDir, address, port, password } = info;
  const log = join(dir, `${info.kind}.log`);
  if (info.kind === 'rclone') {
    const args = ['serve', 'webdav', dataDir, '--addr', `${address}:${port}`, '--user', USER, '--pass', password];
    const env = { RCLONE_CONFIG: join(dir, 'rclone.conf'), PATH: process.env.PATH ?? '/usr/bin:/bin' };
    await writeFile(env.RCLONE_CONFIG, '');
    return () => spawnDaemon('rclone-webdav', 'rclone', args, log, { env });
  }
  if (info.kind === 'apache') {
    // mkdtemp makes the directory 0700; www-data must traverse it to reach the data.
    await chmod(dir, 0o755);
    const runDir = join(dir, 'run');
    const lock = join(dir, 'lock');
    await mkdir(runDir);
    await mkdir(lock);
    // Apache refuses to run as root; data and lock dirs must belong to its user.
    await run('chown', ['www-data:www-data', lock, dataDir]);
    await run('htpasswd', ['-bc', join(dir, 'htpasswd'), USER, password]);
    const conf = join(dir, 'httpd.conf');
    const M = APACHE_MODULES;
    const modules = [
      'mpm_event',
      'authz_core',
      'authz_user',
      'authn_core',
      'authn_file',
      'auth_basic',
      'alias',
      'dav',
      'dav_fs',
    ];
    await writeFile(
      conf,
      `ServerRoot "${dir}"
ServerName ${address}
Listen ${address}:${port}
PidFile ${runDir}/httpd.pid
DefaultRuntimeDir ${runDir}
Mutex file:${runDir} default
User www-data
Group www-data
${modules.map((m) => `LoadModule ${m}_module ${M}/mod_${m}.so`).join('\n')}
ErrorLog ${join(dir, 'apache-error.log')}
LogLevel warn
KeepAlive On
MaxKeepAliveRequests 0
DavLockDB ${lock}/DavLock
<Directory />
  Require all denied
</Directory>
Alias /dav ${dataDir}
<Directory ${dataDir}>
  Dav On
  AuthType Basic
  AuthName dav
  AuthUserFile ${join(dir, 'htpasswd')}
  Require valid-user
</Directory>
`,
    );
    await run('apache2', ['-f', conf, '-t']);
    return () => spawnDaemon('apache-dav', 'apache2', ['-f', conf, '-DFOREGROUND'], log);
  }
  const script = join(dir, 'server.php');
  await writeFile(script, shimPhp(password));
  const cache = join(dir, 'filecache');
  if (info.etagCache) await mkdir(cache, { recursive: true });
  const env = {
    DAV_ROOT: dataDir,
    DAV_UPLOADS: info.uploadsDir ?? join(dir, 'uploads'),
    // Set: folder ETags from the cache (DirCache); unset: hashed from the subtree on every listing.
    ...(info.etagCache ? { DAV_CACHE: cache } : {}),
    PHP_CLI_SERVER_WORKERS: '4',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  return () => spawnDaemon('owncloud-shim', 'php', ['-S', `${address}:${port}`, script], log, { cwd: dir, env });
}

// ownCloud-compatible SabreDAV 1.8 router from research/lab-mail-vpn-fw-dav.md appendix C
// (Debian's php-sabre-dav); `oc:fileid` added next to `oc:id`. The files are served under both
// `remote.php/webdav/` and `remote.php/dav/files/<user>/` (clients switch to the latter when
// `dav.chunking` is announced). Chunked upload ("chunking NG", as ownCloud 10 and its desktop
// clients speak it) is plain PHP in front of SabreDAV: MKCOL `remote.php/dav/uploads/<user>/<id>`,
// PUT chunks (named by zero-padded byte offset, stored atomically), PROPFIND lists them for a
// resume, MOVE `<id>/.file` to `remote.php/dav/files/<user>/<path>` concatenates them in name
// order, checks `OC-Total-Length` (400), `Overwrite: F` (412 when the target exists) and the
// destination ETag in `If: <dest> (["etag"])` (412), keeps `X-OC-Mtime`, answers 201/204 with
// `OC-FileId`, `OC-ETag`, `ETag`. DELETE `<id>` drops an upload.
const shimPhp = (password: string): string => `<?php
error_reporting(E_ALL & ~E_DEPRECATED);
require '/usr/share/php/Sabre/autoload.php';
$root  = getenv('DAV_ROOT');
$users = ['${USER}' => '${password}'];
$path  = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
// With DAV_CACHE set (option \`etagCache\`): folder ETags and sizes as ownCloud keeps them: in a file cache (here files outside the data)
// that every write through the server updates for each folder above the written path (a new
// random ETag, the size summed from the children), so listing a folder does not walk its subtree.
// Each cached folder also keeps a fingerprint of its direct entries (name, mtime, size, inode):
// a folder the cache does not know, or whose entries differ from it (something added, removed,
// renamed or rewritten directly on disk, like a \`cp -a\` into the data folder), is scanned as
// before (a hash of its subtree's paths, mtimes and sizes) and the folders above get new ETags,
// as ownCloud's check for changes on access does. A change made directly on disk two or more
// levels below a folder is seen when the folder it is in is listed, not in the ETags above it.
final class DirCache {
    private static $lock = null;
    /** Runs $fn as the only writer of the cache: each renewal sees every write that finished before it. */
    private static function exclusive($fn) {
        self::$lock ??= fopen(getenv('DAV_CACHE') . '/.lock', 'c');
        flock(self::$lock, LOCK_EX);
        try { return $fn(); } finally { flock(self::$lock, LOCK_UN); }
    }
    /** The cache mirrors the folder tree; a folder's entry is the file "%" in its mirror ("%" alone is no encoded name). */
    private static function file($rel) {
        return getenv('DAV_CACHE') . '/' . ($rel === '' ? '' : implode('/', array_map('rawurlencode', explode('/', $rel))) . '/') . '%';
    }
    private static function row($rel) {
        $raw = @file_get_contents(self::file($rel));
        if ($raw === false) return null;
        [$etag, $size, $fp] = explode(' ', $raw);
        return ['etag' => $etag, 'size' => (int)$size, 'fp' => $fp];
    }
    private static function put($rel, $etag, $size, $fp) {
        $f = self::file($rel);
        if (!is_dir(dirname($f))) mkdir(dirname($f), 0700, true);
        file_put_contents($f . '.' . getmypid(), $etag . ' ' . $size . ' ' . $fp);
        rename($f . '.' . getmypid(), $f);
    }
    private static function forget($rel) {
        $dir = dirname(self::file($rel));
        if (!is_dir($dir)) return;
        $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($dir, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::CHILD_FIRST);
        foreach ($it as $f) $f->isDir() ? rmdir($f->getPathname()) : unlink($f->getPathname());
        rmdir($dir);
    }
    private static function parent($rel) { $i = strrpos($rel, '/'); return $i === false ? '' : substr($rel, 0, $i); }
    private static function fs($rel) { return rtrim(getenv('DAV_ROOT') . '/' . $rel, '/'); }
    /** The fingerprint of a folder's direct entries, the size of its files and its sub folders' names. */
    private static function entries($fs) {
        $h = hash_init('md5'); $size = 0; $dirs = [];
        clearstatcache();
        foreach (scandir($fs) ?: [] as $n) {
            if ($n === '.' || $n === '..') continue;
            $st = lstat($fs . '/' . $n);
            if ($st === false) continue;
            hash_update($h, $n . '|' . $st['mtime'] . '|' . $st['size'] . '|' . $st['ino'] . "\\n");
            if (($st['mode'] & 0170000) === 0040000) $dirs[] = $n; else $size += $st['size'];
        }
        return [hash_final($h), $size, $dirs];
    }
    /** [etag, size] from a walk of the whole subtree: its paths, mtimes and sizes hashed. */
    public static function scan($fs) {
        $h = hash_init('md5'); $size = 0;
        $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($fs, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::SELF_FIRST);
        foreach ($it as $f) { hash_update($h, $f->getPathname() . '|' . $f->getMTime() . '|' . $f->getSize() . "\\n"); if ($f->isFile()) $size += $f->getSize(); }
        return ['"' . hash_final($h) . '"', $size];
    }
    /** [etag, size] of the folder $rel ('' = the root). */
    public static function info($rel) {
        $r = self::row($rel);
        [$fp] = self::entries(self::fs($rel));
        if ($r !== null && $r['fp'] === $fp) return [$r['etag'], (int)$r['size']];
        [$etag, $size] = self::scan(self::fs($rel));
        return self::exclusive(function () use ($rel, $r, $etag, $size, $fp) {
            $now = self::row($rel);
            // A write propagated while this scan ran wins: the scan may predate that write.
            if ($now !== null && ($r === null || $now['etag'] !== $r['etag'])) return [$now['etag'], (int)$now['size']];
            self::put($rel, $etag, $size, $fp);
            if ($r !== null && $rel !== '') self::propagate(self::parent($rel));
            return [$etag, $size];
        });
    }
    /** After a write at $rel: forgets the cached folders at and below it, renews every folder above. */
    public static function changed($rel) {
        $rel = trim($rel, '/');
        // One writer at a time: each renewal sees every write that finished before it.
        self::exclusive(function () use ($rel) {
            if ($rel !== '') self::forget($rel);
            self::propagate($rel === '' ? '' : self::parent($rel));
        });
    }
    /** New ETags for $rel and every folder above it (the caller holds the lock). */
    private static function propagate($rel) {
        for ($p = $rel; ; $p = self::parent($p)) {
            $fs = self::fs($p);
            if (is_dir($fs)) {
                [$fp, $size, $dirs] = self::entries($fs);
                foreach ($dirs as $d) {
                    $child = ltrim($p . '/' . $d, '/');
                    $c = self::row($child);
                    if ($c === null) {
                        [$etag, $csize] = self::scan($fs . '/' . $d);
                        self::put($child, $etag, $csize, self::entries($fs . '/' . $d)[0]);
                        $size += $csize;
                    } else $size += (int)$c['size'];
                }
                self::put($p, '"' . bin2hex(random_bytes(10)) . '"', $size, $fp);
            }
            if ($p === '') return;
        }
    }
}
function ocs($data) {
    header('Content-Type: application/json; charset=utf-8');
    echo json_encode(['ocs' => ['meta' => ['status' => 'ok', 'statuscode' => 100, 'message' => 'OK'], 'data' => $data]]);
}
$status = ['installed' => true, 'maintenance' => false, 'needsDbUpgrade' => false, 'version' => '10.11.0.0',
           'versionstring' => '10.11.0', 'edition' => 'Community', 'productname' => 'ownCloud', 'product' => 'ownCloud'];
if ($path === '/status.php') { header('Content-Type: application/json'); echo json_encode($status); return; }
if (preg_match('#^/ocs/v[12]\\.php/cloud/capabilities#', $path)) {
    ocs(['version' => ['major' => 10, 'minor' => 11, 'micro' => 0, 'string' => '10.11.0', 'edition' => 'Community'],
         'capabilities' => ['core' => ['pollinterval' => 60, 'webdav-root' => 'remote.php/webdav', 'status' => $status],
                            'dav' => ['reports' => [], 'chunking' => '1.0'], 'files' => ['bigfilechunking' => true, 'blacklisted_files' => ['.htaccess']],
                            'checksums' => ['supportedTypes' => ['MD5'], 'preferredUploadType' => 'MD5']]]);
    return;
}
if (preg_match('#^/ocs/v[12]\\.php/cloud/user#', $path)) {
    ocs(['id' => $_SERVER['PHP_AUTH_USER'] ?? '${USER}', 'display-name' => 'Alice', 'email' => null]);
    return;
}
function basicUser($users) {
    $h = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
    if (stripos($h, 'basic ') !== 0) return null;
    $pair = explode(':', (string)base64_decode(substr($h, 6)), 2);
    return count($pair) === 2 && isset($users[$pair[0]]) && hash_equals($users[$pair[0]], $pair[1]) ? $pair[0] : null;
}
function chunkList($dir, $self) {
    http_response_code(207);
    header('Content-Type: application/xml; charset=utf-8');
    $item = function ($href, $isDir, $file) {
        $props = $isDir ? '<d:resourcetype><d:collection/></d:resourcetype>'
            : '<d:resourcetype/><d:getcontentlength>' . filesize($file) . '</d:getcontentlength>';
        return '<d:response><d:href>' . htmlspecialchars($href) . '</d:href><d:propstat><d:prop>' . $props
            . '<d:getlastmodified>' . gmdate('D, d M Y H:i:s', filemtime($file)) . ' GMT</d:getlastmodified>'
            . '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>';
    };
    $self = rtrim($self, '/') . '/';
    echo '<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:">', $item($self, true, $dir);
    if (($_SERVER['HTTP_DEPTH'] ?? 'infinity') !== '0') {
        foreach (glob($dir . '/*') ?: [] as $f) echo $item($self . rawurlencode(basename($f)), false, $f);
    }
    echo '</d:multistatus>';
}
function chunkAssemble($dir, $root, $user) {
    $dest = rawurldecode((string)parse_url($_SERVER['HTTP_DESTINATION'] ?? '', PHP_URL_PATH));
    $prefix = '/remote.php/dav/files/' . $user . '/';
    $rel = trim(substr($dest, strlen($prefix)), '/');
    if (strpos($dest, $prefix) !== 0 || $rel === '' || in_array('..', explode('/', $rel), true)) { http_response_code(400); return; }
    $target = $root . '/' . $rel;
    if (!is_dir(dirname($target)) || is_dir($target)) { http_response_code(409); return; }
    $exists = is_file($target);
    if ($exists && strtoupper($_SERVER['HTTP_OVERWRITE'] ?? 'T') === 'F') { http_response_code(412); return; }
    if (isset($_SERVER['HTTP_IF'])) {
        $ok = preg_match('#^\\s*<([^>]+)>\\s*\\(\\s*\\[("[^"]*")\\]\\s*\\)\\s*$#', $_SERVER['HTTP_IF'], $c)
            && rawurldecode((string)parse_url($c[1], PHP_URL_PATH)) === $dest && $exists && '"' . md5_file($target) . '"' === $c[2];
        if (!$ok) { http_response_code(412); return; }
    }
    $chunks = glob($dir . '/*') ?: [];
    sort($chunks, SORT_STRING);
    $tmp = $dir . '/.assembled';
    $out = fopen($tmp, 'wb');
    foreach ($chunks as $f) { $in = fopen($f, 'rb'); stream_copy_to_stream($in, $out); fclose($in); }
    fclose($out);
    clearstatcache();
    $total = $_SERVER['HTTP_OC_TOTAL_LENGTH'] ?? null;
    if ($total !== null && filesize($tmp) !== (int)$total) { unlink($tmp); http_response_code(400); echo 'OC-Total-Length mismatch'; return; }
    $m = $_SERVER['HTTP_X_OC_MTIME'] ?? '';
    // An existing file is overwritten in place so it keeps its inode, i.e. its oc:fileid.
    if ($exists) { copy($tmp, $target); unlink($tmp); } else rename($tmp, $target);
    if (ctype_digit($m)) { touch($target, (int)$m); header('X-OC-MTime: accepted'); }
    if (getenv('DAV_CACHE')) DirCache::changed($rel);
    foreach ($chunks as $f) unlink($f);
    rmdir($dir);
    clearstatcache();
    $etag = '"' . md5_file($target) . '"';
    header(sprintf('OC-FileId: %08doclab', fileinode($target)));
    header('OC-ETag: ' . $etag);
    header('ETag: ' . $etag);
    http_response_code($exists ? 204 : 201);
}
function chunkRequest($users, $root, $path) {
    $user = basicUser($users);
    preg_match('#^/remote\\.php/dav/uploads/([^/]+)/?([^/]*)/?([^/]*)/?$#', $path, $m);
    if ($user === null || rawurldecode($m[1] ?? '') !== $user) { header('WWW-Authenticate: Basic realm="lab"'); http_response_code(401); return; }
    [$id, $chunk] = [rawurldecode($m[2] ?? ''), rawurldecode($m[3] ?? '')];
    $method = $_SERVER['REQUEST_METHOD'];
    if ($id === '' || $id[0] === '.' || ($chunk !== '' && $chunk !== '.file' && $chunk[0] === '.')) { http_response_code(400); return; }
    $dir = getenv('DAV_UPLOADS') . '/' . $user . '/' . $id;
    if ($chunk === '' && $method === 'MKCOL') { http_response_code(is_dir($dir) ? 405 : (mkdir($dir, 0700, true) ? 201 : 500)); return; }
    if (!is_dir($dir)) { http_response_code(404); return; }
    if ($chunk === '' && $method === 'PROPFIND') { chunkList($dir, $path); return; }
    if ($chunk === '' && $method === 'DELETE') {
        foreach (scandir($dir) as $f) if ($f !== '.' && $f !== '..') unlink($dir . '/' . $f);
        rmdir($dir);
        http_response_code(204);
        return;
    }
    if ($chunk === '.file' && $method === 'MOVE') { chunkAssemble($dir, $root, $user); return; }
    if ($chunk !== '' && $chunk !== '.file' && $method === 'PUT') {
        // Written aside and renamed: a cut-off PUT never leaves a short chunk behind.
        $tmp = $dir . '/.put-' . getmypid() . '-' . $chunk;
        $in = fopen('php://input', 'rb'); $out = fopen($tmp, 'wb');
        $n = stream_copy_to_stream($in, $out);
        fclose($out);
        if (isset($_SERVER['CONTENT_LENGTH']) && $n !== (int)$_SERVER['CONTENT_LENGTH']) { unlink($tmp); http_response_code(400); return; }
        $existed = is_file($dir . '/' . $chunk);
        rename($tmp, $dir . '/' . $chunk);
        http_response_code($existed ? 204 : 201);
        return;
    }
    if ($chunk !== '' && $method === 'DELETE' && is_file($dir . '/' . $chunk)) { unlink($dir . '/' . $chunk); http_response_code(204); return; }
    http_response_code($chunk === '' ? 405 : 404);
}
if (strpos($path, '/remote.php/dav/uploads/') === 0) { chunkRequest($users, $root, $path); return; }
$davFiles = '/remote.php/dav/files/${USER}/';
$base = strpos($path, '/remote.php/webdav') === 0 ? '/remote.php/webdav/' : (strpos($path . '/', $davFiles) === 0 ? $davFiles : null);
if ($base === null) { http_response_code(404); return; }
class LabBasic extends Sabre\\DAV\\Auth\\Backend\\AbstractBasic {
    public function __construct(private array $users) {}
    protected function validateUserPass($u, $p) { return isset($this->users[$u]) && hash_equals($this->users[$u], $p); }
}
class OcCompatPlugin extends Sabre\\DAV\\ServerPlugin {
    const NS = 'http://owncloud.org/ns';
    private $server; private $mtime = null;
    public function __construct(private string $root) {}
    public function initialize(Sabre\\DAV\\Server $server) {
        $this->server = $server;
        $server->xmlNamespaces[self::NS] = 'oc';
        $server->subscribeEvent('beforeMethod', [$this, 'beforeMethod']);
        $server->subscribeEvent('afterGetProperties', [$this, 'afterGetProperties']);
        $server->subscribeEvent('afterBind', [$this, 'afterBind']);
        $server->subscribeEvent('afterWriteContent', [$this, 'afterWrite']);
        $server->subscribeEvent('afterUnbind', [$this, 'afterUnbind']);
    }
    private function fs($uri) { return rtrim($this->root . '/' . trim($uri, '/'), '/'); }
    private function fileId($fs) { return sprintf('%08doclab', fileinode($fs)); }
    /** [etag, size] of a folder: from the cache (DAV_CACHE), else a hash of its whole subtree. */
    private function dirInfo($uri, $fs) { return getenv('DAV_CACHE') ? DirCache::info(trim($uri, '/')) : DirCache::scan($fs); }
    private function changed($uri) { if (getenv('DAV_CACHE')) DirCache::changed($uri); }
    public function beforeMethod($method, $uri) {
        $m = $this->server->httpRequest->getHeader('X-OC-Mtime');
        $this->mtime = ($m !== null && ctype_digit($m)) ? (int)$m : null;
        return true;
    }
    public function afterGetProperties($uri, &$props, $node) {
        $fs = $this->fs($uri);
        if (!file_exists($fs)) return;
        $isDir = is_dir($fs);
        $id = $this->fileId($fs);
        $add = [self::NS . '}id' => $id, self::NS . '}fileid' => $id, self::NS . '}permissions' => $isDir ? 'RDNVCK' : 'RDNVW'];
        if ($isDir) { [$etag, $size] = $this->dirInfo($uri, $fs); $add['{DAV:}getetag'] = $etag; $add['{' . self::NS . '}size'] = $size; }
        foreach ($add as $k => $v) {
            $k = $k[0] === '{' ? $k : '{' . $k;
            if (isset($props[404]) && array_key_exists($k, $props[404])) { unset($props[404][$k]); $props[200][$k] = $v; }
        }
    }
    private function stamp($uri) {
        $fs = $this->fs($uri);
        if (is_file($fs) && $this->mtime !== null) { touch($fs, $this->mtime); $this->server->httpResponse->setHeader('X-OC-MTime', 'accepted'); }
        clearstatcache();
        $this->server->httpResponse->setHeader('OC-FileId', $this->fileId($fs));
        if (is_file($fs)) $this->server->httpResponse->setHeader('OC-ETag', '"' . md5_file($fs) . '"');
    }
    public function afterBind($uri) { $this->stamp($uri); $this->changed($uri); }
    public function afterWrite($uri, $node) { $this->stamp($uri); $this->changed($uri); }
    public function afterUnbind($uri) { $this->changed($uri); }
}
$server = new Sabre\\DAV\\Server(new Sabre\\DAV\\FSExt\\Directory($root));
$server->setBaseUri($base);
$server->addPlugin(new Sabre\\DAV\\Auth\\Plugin(new LabBasic($users), 'lab'));
$server->addPlugin(new OcCompatPlugin($root));
$server->exec();
`;
