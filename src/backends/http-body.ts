/** A short description of a body that is not the JSON we wanted (HTML error pages, proxies). */
export function describeBody(raw: string, contentType: string | null): string {
  const t = raw.trim();
  if (!t) return 'an empty body';
  if ((contentType ?? '').includes('html') || /^<(!doctype|html)/i.test(t)) {
    const title = /<title>([^<]{0,120})<\/title>/i.exec(t)?.[1];
    return `an HTML page${title ? ` ("${title.trim()}")` : ''}`;
  }
  return JSON.stringify(t.slice(0, 120));
}
