// Typed usage of embed.js: `tsc --noEmit -p tests/ts` checks embed.d.ts against it (CI).
import type { MeshesEmbedHandle, MeshesErrorDetail } from "../../meshes-core/assets/embed";

const el = document.getElementById("meshes")!;
const handle: MeshesEmbedHandle = MeshesEmbed.mount(el, {
  basePath: "/meshes",
  minHeight: 600,
  timeout: 10_000,
  launchPage: "rules",
  sessionType: "workspace",
});

el.addEventListener("meshes:error", (e) => {
  const d: MeshesErrorDetail = e.detail;
  if (d.status === 0 && d.retrying) console.log("reconnecting…", d.code);
  if (d.requestId) console.log("support id", d.requestId.toUpperCase());
});
el.addEventListener("meshes:error", (e) => e.preventDefault()); // the host shows errors itself
el.addEventListener("meshes:authenticated", (e) => console.log(e.detail.sinceMount, e.detail.sinceNavigation));
MeshesEmbed.mount(el, { loading: "lazy", sessionId: "sess_1", embedOrigin: "https://embed.meshes.io" });
el.addEventListener("meshes:refreshed", (e) => console.log(e.detail.sessionId, e.detail.generation + 1));
el.addEventListener("meshes:navigate", (e) => console.log(Object.keys(e.detail)));
document.addEventListener("meshes:logout", () => handle.unmount());
document.querySelector("meshes-embed")?.meshesEmbed?.remount();
window.MeshesEmbed.logout();

MeshesEmbed.configure({ mount: "/meshes" });
// @ts-expect-error: the mount is a string
MeshesEmbed.configure({ mount: 1 });

// @ts-expect-error: not a known option type
MeshesEmbed.mount(el, { basePath: 42 });
