import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostError } from '@invis/host';
import { createScriptedRunner, type RunnerScript, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createTransfer, type TransferOptions, transferName } from './transfer';

const dir = useTempDir('portal-transfer-');

function setup(script: RunnerScript = {}, options: Partial<TransferOptions> = {}) {
  const root = join(dir(), 'portal');
  mkdirSync(join(root, 'downloads', 'clara'), { recursive: true });
  mkdirSync(join(root, 'uploads'), { recursive: true });
  const runner = createScriptedRunner(script);
  const transfer = createTransfer({
    root,
    maxUploadBytes: 1024,
    scanner: 'clamdscan',
    quarantineDir: join(dir(), 'quarantine'),
    runner,
    clock: { now: () => new Date('2026-12-06T10:00:00Z') },
    ...options,
  });
  return { root, runner, transfer };
}

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('transfer names', () => {
  it('takes one plain component only', () => {
    expect(transferName('Angebot 2026 (final).pdf')).toBe('Angebot 2026 (final).pdf');
    for (const bad of ['', '.', '..', '.hidden', 'a/b', 'a\\b', 'x\u0000y', 'line\nbreak', 'ä'.repeat(200)]) {
      expect(() => transferName(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'PORTAL_VALIDATION' }),
      );
    }
  });
});

describe('transfer area', () => {
  it('lists regular files only and serves them', async () => {
    const { root, transfer } = setup();
    writeFileSync(join(root, 'downloads', 'clara', 'plan.pdf'), 'PDF');
    writeFileSync(join(root, 'downloads', 'clara', '.upload-x'), 'temp');
    mkdirSync(join(root, 'downloads', 'clara', 'folder'));
    symlinkSync('/etc/passwd', join(root, 'downloads', 'clara', 'passwd'));
    const list = await transfer.list('clara');
    expect(list.downloads.map((f) => f.name)).toEqual(['plan.pdf']);
    expect(list.uploads).toEqual([]);
    const { file, size } = await transfer.openDownload('clara', 'plan.pdf');
    expect(size).toBe(3);
    expect((await file.readFile()).toString()).toBe('PDF');
    await file.close();
  });

  it('never follows a link: not a file link, not a folder link, not a folder on the way', async () => {
    const { root, transfer } = setup();
    symlinkSync('/etc/passwd', join(root, 'downloads', 'clara', 'passwd'));
    await expect(transfer.openDownload('clara', 'passwd')).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
    mkdirSync(join(dir(), 'elsewhere'));
    writeFileSync(join(dir(), 'elsewhere', 'secret.txt'), 'secret');
    symlinkSync(join(dir(), 'elsewhere'), join(root, 'downloads', 'bernd'));
    await expect(transfer.openDownload('bernd', 'secret.txt')).rejects.toMatchObject({ code: 'PORTAL_FORBIDDEN' });
    await expect(transfer.list('bernd')).rejects.toMatchObject({ code: 'PORTAL_FORBIDDEN' });
    symlinkSync(join(dir(), 'elsewhere'), join(root, 'uploads', 'bernd'));
    await expect(transfer.upload('bernd', 'x.txt', chunks('x'))).rejects.toMatchObject({ code: 'PORTAL_FORBIDDEN' });
    expect(readdirSync(join(dir(), 'elsewhere'))).toEqual(['secret.txt']);
  });

  it('publishes a clean upload after the scan, never over an existing file', async () => {
    const { root, runner, transfer } = setup({ clamdscan: { exitCode: 0, stdout: 'OK' } });
    const stored = await transfer.upload('clara', 'bericht.txt', chunks('hello ', 'world'));
    expect(stored).toMatchObject({ name: 'bericht.txt', size: 11 });
    expect(readFileSync(join(root, 'uploads', 'clara', 'bericht.txt'), 'utf8')).toBe('hello world');
    expect(runner.calls[0]?.args.slice(0, 2)).toEqual(['--fdpass', '--no-summary']);
    await expect(transfer.upload('clara', 'bericht.txt', chunks('again'))).rejects.toMatchObject({
      code: 'PORTAL_CONFLICT',
    });
    expect(readFileSync(join(root, 'uploads', 'clara', 'bericht.txt'), 'utf8')).toBe('hello world');
    expect(readdirSync(join(root, 'uploads', 'clara'))).toEqual(['bericht.txt']);
  });

  it('quarantines an infected upload and refuses it', async () => {
    const { root, transfer } = setup({
      clamdscan: (call) => ({ exitCode: 1, stdout: `${call.args.at(-1)}: Eicar-Signature FOUND` }),
    });
    await expect(transfer.upload('clara', 'eicar.com', chunks('X5O!P'))).rejects.toMatchObject({
      code: 'PORTAL_TRANSFER_INFECTED',
      details: { signature: 'Eicar-Signature' },
    });
    expect(readdirSync(join(root, 'uploads', 'clara'))).toEqual([]);
    expect(readdirSync(join(dir(), 'quarantine'))).toEqual(['2026-12-06T10:00:00.000Z-clara-eicar.com']);
  });

  it('keeps nothing when the scanner fails or is missing, or the upload is too large', async () => {
    const failing = setup({ clamdscan: { exitCode: 2, stdout: 'ERROR: Could not connect to clamd' } });
    await expect(failing.transfer.upload('clara', 'a.txt', chunks('a'))).rejects.toMatchObject({
      code: 'PORTAL_TRANSFER_SCAN_FAILED',
    });
    const missing = setup({ clamdscan: new HostError('HOST_COMMAND_NOT_FOUND', 'clamdscan is not installed') });
    await expect(missing.transfer.upload('clara', 'a.txt', chunks('a'))).rejects.toMatchObject({
      code: 'PORTAL_TRANSFER_SCAN_FAILED',
    });
    await expect(
      missing.transfer.upload('clara', 'big.bin', chunks('x'.repeat(1000), 'y'.repeat(100))),
    ).rejects.toMatchObject({
      code: 'PORTAL_PAYLOAD_TOO_LARGE',
    });
    expect(readdirSync(join(missing.root, 'uploads', 'clara'))).toEqual([]);
  });

  it('has nothing to show and takes nothing when its folders are missing', async () => {
    const transfer = createTransfer({
      root: join(dir(), 'missing'),
      maxUploadBytes: 1024,
      scanner: 'none',
      quarantineDir: join(dir(), 'quarantine'),
      runner: createScriptedRunner(),
    });
    expect(await transfer.list('clara')).toEqual({ downloads: [], uploads: [] });
    await expect(transfer.openDownload('clara', 'a.txt')).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
    await expect(transfer.upload('clara', 'a.txt', chunks('a'))).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
  });
});
