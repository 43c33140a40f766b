import { describe, expect, it } from 'vitest';
import { chooseInstallFlag, errorRecords, withOwnLog } from '../src/fixes/module-follow-up.js';

describe('module follow-up argv', () => {
  const tpl = ['odoo-bin', '-c', '/etc/odoo/odoo.conf', '-u', 'legacy_cron', '--stop-after-init'];

  it('installs a module that is not installed and upgrades one that is, whichever flag was configured', () => {
    expect(chooseInstallFlag(tpl, 'legacy_cron', 'uninstalled')).toEqual(['odoo-bin', '-c', '/etc/odoo/odoo.conf', '-i', 'legacy_cron', '--stop-after-init']);
    expect(chooseInstallFlag(tpl, 'legacy_cron', 'to install')[3]).toBe('-i');
    expect(chooseInstallFlag(tpl, 'legacy_cron', 'installed')).toEqual(tpl);
    expect(chooseInstallFlag(['odoo', '-i', 'legacy_cron'], 'legacy_cron', 'installed')).toEqual(['odoo', '-u', 'legacy_cron']);
    expect(chooseInstallFlag(['odoo', '--update=base,legacy_cron'], 'legacy_cron', 'uninstalled')).toEqual(['odoo', '--init=base,legacy_cron']);
    expect(chooseInstallFlag(['odoo', '--update', 'legacy_cron'], 'legacy_cron', 'uninstalled')).toEqual(['odoo', '--init', 'legacy_cron']);
  });

  it('leaves the argv alone when the state is unknown or the flag names another module', () => {
    expect(chooseInstallFlag(tpl, 'legacy_cron', null)).toEqual(tpl);
    expect(chooseInstallFlag(['odoo', '-u', 'sale', '-d', 'legacy_cron'], 'legacy_cron', 'uninstalled')).toEqual(['odoo', '-u', 'sale', '-d', 'legacy_cron']);
  });

  it('brings the log of a --stop-after-init run to stdout unless a logfile or syslog was chosen', () => {
    expect(withOwnLog(tpl)).toEqual([...tpl, '--logfile=']);
    expect(withOwnLog([...tpl, '--logfile=/var/log/x.log'])).toEqual([...tpl, '--logfile=/var/log/x.log']);
    expect(withOwnLog([...tpl, '--syslog'])).toEqual([...tpl, '--syslog']);
    expect(withOwnLog(['/usr/local/bin/update-module.sh', 'legacy_cron'])).toEqual(['/usr/local/bin/update-module.sh', 'legacy_cron']);
  });

  it('finds ERROR and CRITICAL records in its output, not INFO or WARNING', () => {
    const stdout = [
      '2026-12-02 09:40:01,001 777 INFO healdb odoo.modules.loading: loading 1 modules...',
      '2026-12-02 09:40:01,002 777 WARNING healdb odoo.modules.loading: Some deprecated thing',
      '2026-12-02 09:40:02,003 777 ERROR healdb odoo.sql_db: bad query: SELECT 1',
      'Traceback (most recent call last):',
      '2026-12-02 09:40:03,004 777 CRITICAL healdb odoo.service.server: Failed to initialize database `healdb`.',
    ].join('\n');
    expect(errorRecords({ stdout, stderr: '' })).toEqual(['ERROR bad query: SELECT 1', 'CRITICAL Failed to initialize database `healdb`.']);
    expect(errorRecords({ stdout: stdout.split('\n').slice(0, 2).join('\n'), stderr: '' })).toEqual([]);
  });
});
