// URLs of hubs and sites: a base URL gets a trailing slash so that relative paths resolve beneath it.

export function withSlash(url: URL): URL {
  return url.pathname.endsWith('/') ? url : new URL(`${url.href}/`);
}
