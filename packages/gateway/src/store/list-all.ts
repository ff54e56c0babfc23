import type { Page } from './types.ts';

/** The most rows one page of a store list returns (types.ts `Page`). */
export const MAX_PAGE = 1000;

/** Every row of a paged store list, read page by page until a short page. */
export async function listAll<T>(list: (page: Required<Page>) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (let offset = 0; ; offset += MAX_PAGE) {
    const page = await list({ limit: MAX_PAGE, offset });
    all.push(...page);
    if (page.length < MAX_PAGE) return all;
  }
}
