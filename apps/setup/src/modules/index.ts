// The registry: exactly the modules that exist. Modules still to come
// (fileserver, mail, openvpn, …) are listed in the README as future work, not here.
import type { SetupModule } from '../module';
import { backupModule } from './backup';
import { caModule } from './ca';
import { checkModule } from './check';
import { ddnsModule } from './ddns';
import { dhcpModule } from './dhcp';
import { dnsModule } from './dns';
import { fetchmailModule } from './fetchmail';
import { fileserverModule } from './fileserver';
import { firewallModule } from './firewall';
import { housekeepingModule } from './housekeeping';
import { mailfilterModule } from './mailfilter';
import { mailserverModule } from './mailserver';
import { networkModule } from './network';
import { nfsModule } from './nfs';
import { openvpnModule } from './openvpn';
import { portalModule } from './portal';
import { printModule } from './print';
import { sambaAdModule } from './samba-ad';
import { sshModule } from './ssh';
import { timeModule } from './time';
import { webdavModule } from './webdav';
import { webmailModule } from './webmail';

/** Every module of invis-setup, in registry order (ties of the dependency order keep it). */
export const MODULES: readonly SetupModule[] = [
  checkModule,
  caModule,
  sambaAdModule,
  dnsModule,
  networkModule,
  timeModule,
  sshModule,
  firewallModule,
  dhcpModule,
  ddnsModule,
  portalModule,
  openvpnModule,
  backupModule,
  printModule,
  housekeepingModule,
  fileserverModule,
  webdavModule,
  nfsModule,
  mailserverModule,
  mailfilterModule,
  fetchmailModule,
  webmailModule,
];

export {
  backupModule,
  caModule,
  checkModule,
  ddnsModule,
  dhcpModule,
  dnsModule,
  fetchmailModule,
  fileserverModule,
  firewallModule,
  housekeepingModule,
  mailfilterModule,
  mailserverModule,
  networkModule,
  nfsModule,
  openvpnModule,
  portalModule,
  printModule,
  sambaAdModule,
  sshModule,
  timeModule,
  webdavModule,
  webmailModule,
};
