// Type declarations for meshes-rs embed.js (served next to it as `embed.d.ts`).
// MIT OR Apache-2.0.

/** Options of `MeshesEmbed.mount`; the same as the `data-*` attributes of
 *  `[data-meshes-embed]` and the attributes of `<meshes-embed>` (kebab-case). */
export interface MeshesEmbedOptions {
  /** The mount of the routes. embed.js knows it from its own URL (`<mount>/embed.js`), or from
   *  `MeshesEmbed.configure` for a bundled copy, and sends requests nowhere else: a basePath
   *  that is not that mount (a trailing slash aside) fetches nothing and fires `meshes:error`
   *  with `invalid_base_path`. */
  basePath?: string;
  /** Minimum iframe height in px (default 480). */
  minHeight?: number | string;
  /** Maximum iframe height in px (default none). */
  maxHeight?: number | string;
  /** Timeout of each request in ms (default 15000; kept within 1000–60000). */
  timeout?: number | string;
  /** Retries of a failed request before giving up (default 6; at most 10). */
  retries?: number | string;
  /** The iframe's title (default "Meshes workspace"). */
  title?: string;
  /** A server-rendered embed (`EmbedHtml` from the library writes these): adopt the
   *  container's iframe, which shows this session, instead of minting. Its token is fetched
   *  from the mount (owner-checked) for `embedOrigin` only, which the server checks is an
   *  embed origin, and goes only to an iframe on that origin; otherwise, or when the session
   *  is gone, embed.js mints. */
  sessionId?: string;
  embedOrigin?: string;
  /** `"lazy"`: mint only when the container nears the viewport (launch URLs expire). */
  loading?: "lazy" | "eager" | (string & {});
  /** Session hints sent with the mint; the server's resolver accepts, changes or refuses them. */
  launchPage?: "dashboard" | "connections" | "rules" | "events" | (string & {});
  sessionType?: "workspace" | "resource" | "dashboard" | (string & {});
  resourceType?: string;
  resourceId?: string;
}

/** A mounted embed. */
export interface MeshesEmbedHandle {
  /** Removes the iframe (or blanks a given one) and stops. */
  unmount(): void;
  /** Unmounts and revokes the session on the backend. */
  destroy(): Promise<void> | undefined;
  /** Mints a new session into the same frame. */
  remount(): void;
  /** After giving up: tries again now. */
  resume(): void;
}

export interface MeshesSessionDetail { sessionId: string }
/** Real-user timing: ms from the mount (auto-mount or `mount()`), and from the page's
 *  navigation start (`performance.now()`), to the token sent. */
export interface MeshesAuthenticatedDetail { sessionId: string; sinceMount: number; sinceNavigation: number }
export interface MeshesRefreshedDetail { sessionId: string; generation: number }
export interface MeshesErrorDetail {
  /** HTTP status; 0 for a network error or a timeout. */
  status: number;
  /** The route's `error` code (`rate_limited`, `forbidden`, …), or `network_error`,
   *  `timeout`, `invalid_base_path`, `invalid_launch_url`, `invalid_session`. */
  code: string;
  message: string;
  /** The server's id of the failed request (32 hex digits, the trace id its log lines
   *  show), when the server answered; for a support report. */
  requestId?: string;
  /** Whether it will try again by itself. */
  retrying: boolean;
}
/** The iframe's `meshes:navigate` message: only these fields, as strings, and only when
 *  well-formed (`page` a name of letters, digits, `_ . -`; `path` a path of the embed starting
 *  with one `/`, never a URL); never a token. */
export interface MeshesNavigateDetail {
  page?: string;
  path?: string;
}

/** The events, dispatched on the container (bubbling; `meshes:logout` on `document`). */
export interface MeshesEventMap {
  "meshes:mounted": CustomEvent<MeshesSessionDetail>;
  "meshes:authenticated": CustomEvent<MeshesAuthenticatedDetail>;
  "meshes:refreshed": CustomEvent<MeshesRefreshedDetail>;
  "meshes:navigate": CustomEvent<MeshesNavigateDetail>;
  "meshes:error": CustomEvent<MeshesErrorDetail>;
  "meshes:expired": CustomEvent<Record<string, never>>;
  "meshes:logout": CustomEvent<Record<string, never>>;
}

export interface MeshesEmbedApi {
  /** Mounts a workspace into `target`, a container: the workspace goes into an iframe
   *  embed.js creates there (or, for a server-rendered container, the iframe the server
   *  rendered). An iframe as `target` is refused (`meshes:error` `invalid_target`, and it
   *  throws). */
  mount(target: HTMLElement, options?: MeshesEmbedOptions): MeshesEmbedHandle;
  /** Unmounts every embed in every tab of this origin (also done on any 401). */
  logout(): void;
  /** For a copy of embed.js not served by the library (bundled): where the routes are
   *  mounted, e.g. `{ mount: "/meshes" }`. Embeds wait for it. Throws when the mount is
   *  invalid or differs from the one the script was served from. Call it from your own code,
   *  never with a value taken from the page. `maxEmbeds` (0–100, default 8): how many
   *  embeds the markup (`[data-meshes-embed]`, `<meshes-embed>`) mounts at once; the others
   *  get `meshes:error` `too_many_embeds` and mint nothing. */
  configure(config: { mount?: string; maxEmbeds?: number }): void;
}

declare global {
  interface Window { MeshesEmbed: MeshesEmbedApi }
  var MeshesEmbed: MeshesEmbedApi;
  interface DocumentEventMap extends MeshesEventMap {}
  interface HTMLElementEventMap extends MeshesEventMap {}
  interface HTMLElementTagNameMap { "meshes-embed": HTMLElement & { meshesEmbed: MeshesEmbedHandle | null } }
}
