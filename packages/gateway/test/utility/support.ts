import type { InjectResponse, UtilityServer } from '@gridseam/ieee2030-5';

/**
 * Helpers for walking the 2030.5 side in tests: follow links from /dcap the way a client does,
 * without depending on the server's URL layout.
 */

/** The href of the first `<Name ... href="...">` element, or undefined. */
export function linkHref(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}\\b[^>]*\\bhref="([^"]+)"`).exec(xml);
  return match?.[1];
}

/** Every href of `<Name href="...">` elements. */
export function linkHrefs(xml: string, element: string): string[] {
  return [...xml.matchAll(new RegExp(`<${element}\\b[^>]*\\bhref="([^"]+)"`, 'g'))].map((m) => m[1] ?? '');
}

/** The text of every `<name>text</name>` element (any namespace prefix). */
export function elementTexts(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<(?:[A-Za-z0-9_]+:)?${name}>([^<]*)</(?:[A-Za-z0-9_]+:)?${name}>`, 'g'))].map(
    (m) => m[1] ?? '',
  );
}

export function withPage(href: string, limit = 100): string {
  return `${href}${href.includes('?') ? '&' : '?'}s=0&l=${limit}`;
}

export type SepGet = (href: string) => Promise<InjectResponse>;

/** GET over server.inject as the client with this LFDI; fails on a non-200. */
export function sepClient(server: UtilityServer, lfdi: string): (href: string) => Promise<string> {
  return async (href) => {
    const response = await server.inject({ method: 'GET', url: href, lfdi });
    if (response.statusCode !== 200) throw new Error(`GET ${href} answered ${response.statusCode}: ${response.body}`);
    return response.body;
  };
}

/**
 * Walks dcap -> edev list -> the first EndDevice -> fsa list -> every fsa's derp list -> every
 * program's DERControl list, and returns the DERControl list bodies.
 */
export async function derControlLists(get: (href: string) => Promise<string>): Promise<string[]> {
  const dcap = await get('/dcap');
  const edevList = await get(withPage(required(linkHref(dcap, 'EndDeviceListLink'), 'EndDeviceListLink')));
  const edevHref = required(/<EndDevice\b[^>]*\bhref="([^"]+)"/.exec(edevList)?.[1], 'EndDevice href');
  const edev = await get(edevHref);
  const fsaList = await get(withPage(required(linkHref(edev, 'FunctionSetAssignmentsListLink'), 'FSA list link')));
  const lists: string[] = [];
  for (const derpListHref of linkHrefs(fsaList, 'DERProgramListLink')) {
    const derpList = await get(withPage(derpListHref));
    for (const dercHref of linkHrefs(derpList, 'DERControlListLink')) lists.push(await get(withPage(dercHref)));
  }
  return lists;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what} found`);
  return value;
}
