import { describe, expect, it } from 'vitest';
import { applyReport, emptyPlan, fileChange, formatPlan, planChanges } from './plan';

describe('plan and report', () => {
  it('classifies file changes', () => {
    expect(fileChange('/etc/a', 'x\n', 'x\n')).toEqual({ path: '/etc/a', action: 'unchanged', diff: '' });
    expect(fileChange('/etc/a', undefined, 'x\n').action).toBe('create');
    expect(fileChange('/etc/a', 'x\n', undefined).action).toBe('delete');
    const update = fileChange('/etc/a', 'x\n', 'y\n');
    expect(update.action).toBe('update');
    expect(update.diff).toContain('--- a/etc/a');
  });

  it('withholds the diff of secrets', () => {
    const change = fileChange('/etc/invis/secret', 'old-key', 'new-key', { secret: true });
    expect(change).toEqual({ path: '/etc/invis/secret', action: 'update', diff: '', secret: true });
    const text = formatPlan({ ...emptyPlan(), files: [change] });
    expect(text).toBe('update /etc/invis/secret (secret, diff withheld)\n');
    expect(text).not.toContain('key');
  });

  it('reports changed only when something acts', () => {
    const plan = emptyPlan();
    plan.files.push(fileChange('/etc/a', 'x', 'x'));
    expect(planChanges(plan)).toBe(false);
    expect(applyReport(plan)).toMatchObject({ changed: false, timings: {} });
    plan.services.push({ unit: 'named', action: 'reload' });
    expect(applyReport(plan, { backup: '/var/backups/x', timings: { reload: 3 } })).toMatchObject({
      changed: true,
      backup: '/var/backups/x',
      timings: { reload: 3 },
    });
    plan.commands.push({ command: 'kea-dhcp4', args: ['-t', '/etc/kea/kea-dhcp4.conf'], reason: 'check' });
    expect(formatPlan(plan)).toBe('service reload named\nrun kea-dhcp4 -t /etc/kea/kea-dhcp4.conf  # check\n');
  });
});
