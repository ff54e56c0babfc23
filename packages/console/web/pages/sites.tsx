/** #/sites — sites with their connection limits and devices; groups and aggregations with their members now. */
import { enc, get, getAll, inPool, withQuery } from '../api.ts';
import { ErrorBox, Loading, Section } from '../components.tsx';
import * as fmt from '../format.ts';
import { useLoad } from '../hooks.ts';
import { href, type Route } from '../router.ts';
import type { Device, Group, Membership, Site } from '../types.ts';

/** Members listed per group before "and N more". */
const MEMBERS_LISTED = 24;
/** Member lists asked for at once. */
const GROUPS_IN_FLIGHT = 6;

export function Sites({ route }: { route: Route }) {
  const selected = route.query.get('site') ?? undefined;
  const data = useLoad('sites', async () => {
    const [sites, devices, groups] = await Promise.all([
      getAll<Site>('/api/sites'),
      getAll<Device>('/api/devices'),
      getAll<Group>('/api/groups'),
    ]);
    const now = Date.now();
    sites.sort((a, b) => fmt.naturalOrder(a.name, b.name));
    groups.sort((a, b) => fmt.naturalOrder(a.name, b.name));
    const members = await inPool(groups, GROUPS_IN_FLIGHT, (group) =>
      get<Membership[]>(withQuery(`/api/groups/${enc(group.id)}/members`, { at: now })),
    );
    return { sites, devices, groups, members };
  });
  return (
    <div class="page">
      <h1>Sites and groups</h1>
      <ErrorBox error={data.error} />
      <Loading when={data.loading && data.data === undefined} />
      {data.data ? (
        <>
          <Section title={`Sites (${data.data.sites.length})`}>
            <SiteTable sites={data.data.sites} devices={data.data.devices} selected={selected} />
          </Section>
          <Section title={`Groups (${data.data.groups.length})`}>
            <GroupTable groups={data.data.groups} members={data.data.members} />
          </Section>
        </>
      ) : null}
    </div>
  );
}

function classCounts(devices: Device[]): string {
  const counts = new Map<string, number>();
  for (const device of devices) counts.set(device.class, (counts.get(device.class) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([deviceClass, n]) => `${n} ${deviceClass}`)
    .join(', ');
}

function limit(watts: number | undefined): string {
  return watts === undefined ? 'none' : fmt.power(watts);
}

function SiteTable({ sites, devices, selected }: { sites: Site[]; devices: Device[]; selected?: string }) {
  const bySite = new Map<string, Device[]>();
  for (const device of devices) bySite.set(device.siteId, [...(bySite.get(device.siteId) ?? []), device]);
  if (sites.length === 0) return <p class="muted">No sites.</p>;
  return (
    <table data-testid="sites-table">
      <thead>
        <tr>
          <th>Site</th>
          <th>NMI / service point</th>
          <th class="num">Export limit</th>
          <th class="num">Import limit</th>
          <th class="num">Phases</th>
          <th class="num">Nominal</th>
          <th>Devices</th>
        </tr>
      </thead>
      <tbody>
        {sites.map((site) => {
          const members = bySite.get(site.id) ?? [];
          return (
            <tr key={site.id} class={site.id === selected ? 'selected' : ''} data-testid={`site-${site.id}`}>
              <td>
                {site.name}
                <div class="muted small">
                  {site.id}
                  {site.timezone ? ` · ${site.timezone}` : ''}
                </div>
              </td>
              <td>{site.nmi ?? site.servicePointId ?? '–'}</td>
              <td class="num">{limit(site.connection?.exportLimitW)}</td>
              <td class="num">{limit(site.connection?.importLimitW)}</td>
              <td class="num">{site.connection?.phases ?? '–'}</td>
              <td class="num">{site.connection?.nominalVoltageV ? `${site.connection.nominalVoltageV} V` : '–'}</td>
              <td>
                <a href={href(['devices'], { site: site.id })}>
                  {fmt.count(members.length)} {members.length === 1 ? 'device' : 'devices'}
                </a>
                {members.length > 0 ? <div class="muted small">{classCounts(members)}</div> : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function GroupTable({ groups, members }: { groups: Group[]; members: Membership[][] }) {
  if (groups.length === 0) return <p class="muted">No groups.</p>;
  return (
    <table data-testid="groups-table">
      <thead>
        <tr>
          <th>Group</th>
          <th>Kind</th>
          <th>Market</th>
          <th class="num">Minimum size</th>
          <th class="num">Members now</th>
          <th>Members</th>
        </tr>
      </thead>
      <tbody>
        {groups.map((group, index) => {
          const ids = [...new Set((members[index] ?? []).map((m) => m.deviceId))].sort();
          return (
            <tr key={group.id} data-testid={`group-${group.id}`}>
              <td>
                {group.name}
                <div class="muted small">{group.id}</div>
                {group.description ? <div class="small">{group.description}</div> : null}
              </td>
              <td>{group.kind}</td>
              <td>
                {group.market
                  ? [group.market.iso, group.market.resourceId, group.market.pricingNode].filter(Boolean).join(' · ')
                  : '–'}
              </td>
              <td class="num">{group.market?.minSizeW !== undefined ? fmt.power(group.market.minSizeW) : '–'}</td>
              <td class="num" data-testid={`group-${group.id}-count`}>
                {fmt.count(ids.length)}
              </td>
              <td class="members">
                {ids.slice(0, MEMBERS_LISTED).map((id) => (
                  <a key={id} href={href(['devices', id])}>
                    {id}
                  </a>
                ))}
                {ids.length > MEMBERS_LISTED ? (
                  <span class="muted"> and {ids.length - MEMBERS_LISTED} more</span>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
