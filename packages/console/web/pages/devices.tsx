/**
 * #/devices — every device, filtered by class, online/offline, operating state and site (the
 * filters live in the route's query, so the overview links to `#/devices?status=offline`).
 * Statuses come from GET /api/devices/status (the overview's rules); they are reloaded when a live
 * `summary` shows the counts changed, and the rows on screen follow the live feed in between.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getAll } from '../api.ts';
import { Badge, ErrorBox, Loading } from '../components.tsx';
import {
  applyLive,
  countsKey,
  loadStatuses,
  operatingLabel,
  STATUS_RELOAD_MS,
  type StatusMap,
} from '../device-status.ts';
import * as fmt from '../format.ts';
import { useApp, useLive, useLoad, useNow } from '../hooks.ts';
import { href, type Route, replaceQuery } from '../router.ts';
import type { Device, DeviceStatus, Site } from '../types.ts';

const PAGE_SIZE = 50;
/** A device is fresh for this long after its last sign of life (the summary's 5 min rule). */
const FRESH_MS = 5 * 60_000;

interface Filters {
  class?: string;
  status?: string;
  state?: string;
  site?: string;
  q?: string;
  page?: string;
}

function filtersOf(route: Route): Filters {
  const pick = (key: string) => route.query.get(key) || undefined;
  return {
    class: pick('class'),
    status: pick('status'),
    state: pick('state'),
    site: pick('site'),
    q: pick('q'),
    page: pick('page'),
  };
}

/** Why a device counts as offline, in a few words. */
function offlineReason(device: Device, status: DeviceStatus | undefined, now: number): string {
  if (!device.enabled) return 'disabled';
  if (status?.lastSeenAt === null || status?.lastSeenAt === undefined) return 'never seen';
  if (now - status.lastSeenAt > FRESH_MS)
    return `no data for ${fmt.duration(Math.round((now - status.lastSeenAt) / 1000))}`;
  return 'reported offline by the edge';
}

/** The statuses: loaded once, again when a live summary's counts change (or every STATUS_RELOAD_MS), live in between. */
function useStatuses() {
  const loaded = useLoad('device-statuses', loadStatuses);
  const [statuses, setStatuses] = useState<StatusMap>(new Map());
  useEffect(() => {
    if (loaded.data !== undefined) setStatuses(loaded.data);
  }, [loaded.data]);
  const last = useRef({ key: '', at: Date.now() });
  useLive((message) => {
    if (message.type !== 'summary') {
      setStatuses((current) => applyLive(current, message));
      return;
    }
    const key = countsKey(message.summary);
    const changed = last.current.key !== '' && last.current.key !== key;
    const due = Date.now() - last.current.at > STATUS_RELOAD_MS;
    last.current = { key, at: changed || due ? Date.now() : last.current.at };
    if (changed || due) loaded.reload();
  });
  return { statuses, error: loaded.error, loading: loaded.loading && loaded.data === undefined };
}

export function Devices({ route }: { route: Route }) {
  const filters = filtersOf(route);
  const fleet = useLoad('devices', async () => {
    const [devices, sites] = await Promise.all([getAll<Device>('/api/devices'), getAll<Site>('/api/sites')]);
    devices.sort((a, b) => fmt.naturalOrder(a.id, b.id));
    return { devices, sites };
  });
  const { live } = useApp();
  const { statuses, error: statusError, loading: statusLoading } = useStatuses();
  const now = useNow();

  const byFields = useMemo(() => {
    const query = filters.q?.toLowerCase();
    return (fleet.data?.devices ?? []).filter(
      (device) =>
        (filters.class === undefined || device.class === filters.class) &&
        (filters.site === undefined || device.siteId === filters.site) &&
        (query === undefined ||
          device.id.toLowerCase().includes(query) ||
          (device.name ?? '').toLowerCase().includes(query)),
    );
  }, [fleet.data, filters.class, filters.site, filters.q]);
  const sites = useMemo(
    () => [...(fleet.data?.sites ?? [])].sort((a, b) => fmt.naturalOrder(a.name, b.name)),
    [fleet.data],
  );
  const byStatus =
    filters.status === undefined
      ? byFields
      : byFields.filter((device) => (statuses.get(device.id)?.state ?? 'offline') === filters.status);
  const shown =
    filters.state === undefined
      ? byStatus
      : byStatus.filter((device) => operatingLabel(statuses.get(device.id)) === filters.state);
  const online = shown.filter((device) => statuses.get(device.id)?.online === true).length;
  const pageCount = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const page = Math.min(pageCount, Math.max(1, Number(filters.page ?? '1') || 1));
  const rows = shown.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);

  // Live telemetry and device.state for the rows on screen (the feed sends them for subscribed devices only).
  const rowKey = rows.map((device) => device.id).join(',');
  useEffect(() => {
    live.subscribe(rowKey === '' ? [] : rowKey.split(','));
  }, [live, rowKey]);
  useEffect(() => () => live.subscribe([]), [live]);

  const set = (change: Filters) => replaceQuery(['devices'], { ...filters, page: undefined, ...change });
  const classes = [...new Set((fleet.data?.devices ?? []).map((device) => device.class))].sort();
  const states = [
    ...new Set([
      ...byStatus.map((device) => operatingLabel(statuses.get(device.id))),
      ...(filters.state ? [filters.state] : []),
    ]),
  ].sort();
  const siteName = new Map((fleet.data?.sites ?? []).map((site) => [site.id, site.name]));

  return (
    <div class="page">
      <h1>Devices</h1>
      <ErrorBox error={fleet.error ?? statusError} />
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Class
          <select
            data-testid="filter-class"
            value={filters.class ?? ''}
            onChange={(event) => set({ class: event.currentTarget.value || undefined })}
          >
            <option value="">all</option>
            {classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Online
          <select
            data-testid="filter-status"
            value={filters.status ?? ''}
            onChange={(event) => set({ status: event.currentTarget.value || undefined })}
          >
            <option value="">all</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
          </select>
        </label>
        <label>
          Operating state
          <select
            data-testid="filter-state"
            value={filters.state ?? ''}
            onChange={(event) => set({ state: event.currentTarget.value || undefined })}
          >
            <option value="">all</option>
            {states.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Site
          <select
            data-testid="filter-site"
            value={filters.site ?? ''}
            onChange={(event) => set({ site: event.currentTarget.value || undefined })}
          >
            <option value="">all</option>
            {sites.map((site) => (
              <option key={site.id} value={site.id}>
                {site.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input
            type="search"
            placeholder="id or name"
            value={filters.q ?? ''}
            onInput={(event) => set({ q: event.currentTarget.value || undefined })}
          />
        </label>
        <span class="muted filters-count" data-testid="devices-count" data-value={String(shown.length)}>
          {fmt.count(shown.length)} of {fmt.count(fleet.data?.devices.length ?? 0)} devices
          {statusLoading ? null : (
            <span data-testid="devices-online" data-value={String(online)}>
              {' '}
              · {fmt.count(online)} online · {fmt.count(shown.length - online)} offline
            </span>
          )}
        </span>
      </form>
      <Loading when={fleet.loading && fleet.data === undefined} />
      <table class="devices" data-testid="devices-table">
        <thead>
          <tr>
            <th>Device</th>
            <th>Class</th>
            <th>Site</th>
            <th>Online</th>
            <th>Operating state</th>
            <th class="num">Power</th>
            <th class="num">SoC</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((device) => (
            <DeviceRow
              key={device.id}
              device={device}
              status={statuses.get(device.id)}
              siteName={siteName.get(device.siteId) ?? device.siteId}
              now={now}
            />
          ))}
          {rows.length === 0 && !fleet.loading ? (
            <tr>
              <td colSpan={8} class="muted">
                No device matches.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {pageCount > 1 ? (
        <nav class="pager">
          <button type="button" disabled={page <= 1} onClick={() => set({ ...filters, page: String(page - 1) })}>
            ‹ Previous
          </button>
          <span>
            Page {page} of {pageCount}
          </span>
          <button
            type="button"
            disabled={page >= pageCount}
            onClick={() => set({ ...filters, page: String(page + 1) })}
          >
            Next ›
          </button>
        </nav>
      ) : null}
    </div>
  );
}

function DeviceRow(props: { device: Device; status: DeviceStatus | undefined; siteName: string; now: number }) {
  const { device, status, siteName, now } = props;
  const known = status !== undefined;
  // An offline device's power and SoC are its last values (still under 5 min old): shown grey.
  const stale = known && !status.online;
  return (
    <tr data-testid={`device-row-${device.id}`}>
      <td>
        <a href={href(['devices', device.id])}>{device.name ?? device.id}</a>
        {device.name ? <div class="muted small">{device.id}</div> : null}
      </td>
      <td>{device.class}</td>
      <td>{siteName}</td>
      <td data-testid={`device-online-${device.id}`} data-value={known ? status.state : ''}>
        {known ? <Badge value={status.state} /> : <span class="muted">…</span>}
        {known && !status.online ? <div class="muted small">{offlineReason(device, status, now)}</div> : null}
      </td>
      <td>
        {!known ? null : status.online ? (
          <Badge value={operatingLabel(status)} />
        ) : (
          <span class="muted" title="The last state it reported">
            {status.operatingState ?? '–'}
          </span>
        )}
      </td>
      <td class={stale ? 'num muted' : 'num'} title={stale ? 'Its last value before it went offline' : undefined}>
        {fmt.power(status?.activePowerW)}
      </td>
      <td class={stale ? 'num muted' : 'num'} title={stale ? 'Its last value before it went offline' : undefined}>
        {fmt.percent(status?.socPct)}
      </td>
      <td title={fmt.time(status?.lastSeenAt)}>{status?.lastSeenAt ? fmt.ago(status.lastSeenAt, now) : '–'}</td>
    </tr>
  );
}
