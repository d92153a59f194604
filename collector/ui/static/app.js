// The app shell: reads the state from the URL, signs in when the server wants a token, and
// mounts the page for that state (experiments list, an experiment's tabs, or a comparison).
//
// URL state (all optional): ?experiment=<id>&tab=traces|overview&search=..&filter=..&sort=<key DESC>
//                           &page=<page token>&trace=<trace id>&span=<span id>
//                           or   ?experiment=<id>&compare=<id>,<id>,...

import { ApiError, apiFetch, getToken, setToken } from "./api.js";
import { h } from "./dom.js";
import { mountExperiments } from "./experiments.js";
import { mountCompare } from "./compare.js";
import { mountExperiment } from "./traces.js";

const config = JSON.parse(document.documentElement.dataset.config || "{}");
const main = document.getElementById("main");
const crumbs = document.getElementById("crumbs");
const signOut = document.getElementById("sign-out");
const KEYS = ["experiment", "tab", "search", "filter", "sort", "page", "trace", "span", "compare"];
// A page token continues the search it came from: another experiment or query starts at page one.
const PAGED_BY = ["experiment", "search", "filter", "sort"];

let page = null; // { key, update(state), destroy() }

export function readState() {
  const params = new URLSearchParams(location.search);
  return Object.fromEntries(KEYS.map((key) => [key, params.get(key) || ""]));
}

// Change the URL state and show it. `push` adds a history entry (Back returns to the previous view);
// `memo` is what the entry remembers beyond the URL (history.state), kept as it is when not given.
export function navigate(changes, { push = true, memo } = {}) {
  const current = readState();
  const state = { ...current, ...changes };
  if (!("page" in changes) && PAGED_BY.some((key) => state[key] !== current[key])) state.page = "";
  const params = new URLSearchParams();
  for (const key of KEYS) if (state[key]) params.set(key, state[key]);
  const query = params.toString();
  const url = query ? `/?${query}` : "/";
  if (url !== location.pathname + location.search) {
    history[push ? "pushState" : "replaceState"](memo === undefined ? history.state : memo, "", url);
  }
  render();
}

export function setCrumbs(...items) {
  crumbs.replaceChildren(h("ol", null, items.map((item, i) => h("li", null,
    i === items.length - 1 ? h("span", { "aria-current": "page" }, item.label)
      : h("a", { href: item.href, onclick: (event) => { event.preventDefault(); navigate(item.state); } }, item.label)))));
}

const app = { apiFetch, navigate, readState, setCrumbs, config };

function render() {
  if (config.auth && !getToken()) {
    showLogin();
    return;
  }
  signOut.hidden = !config.auth;
  const state = readState();
  const key = state.compare ? `compare:${state.compare}` : state.experiment ? `experiment:${state.experiment}` : "experiments";
  if (page && page.key === key) {
    page.update(state);
    return;
  }
  if (page) page.destroy();
  main.replaceChildren();
  if (state.compare) page = mountCompare(main, state, app);
  else if (state.experiment) page = mountExperiment(main, state, app);
  else page = mountExperiments(main, state, app);
  page.key = key;
}

function showLogin(message) {
  if (page) page.destroy();
  page = null;
  signOut.hidden = true;
  setCrumbs({ label: "Sign in" });
  const input = h("input", { type: "password", name: "token", "aria-label": "Token", autocomplete: "current-password",
    required: true });
  const error = h("p", { class: "tg-error", role: "alert" }, message || "");
  const form = h("form", { class: "tg-login" },
    h("h1", null, "Sign in"),
    h("p", null, "This server requires its bearer token (the --auth-token it was started with). It is kept in this "
      + "tab only (sessionStorage) and sent with every request."),
    h("label", { class: "tg-field" }, h("span", null, "Token"), input),
    error,
    h("button", { type: "submit", class: "tg-primary" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value);
    try {
      await apiFetch("/experiments");
      render();
    } catch (exc) {
      setToken(null);
      error.textContent = exc instanceof ApiError && exc.status === 401 ? "The server refused this token." : String(exc.message);
      input.select();
    }
  });
  main.replaceChildren(form);
  input.focus();
}

window.addEventListener("traceglass:unauthorized", () => {
  // On the sign-in form (no page mounted) the form itself reports a refused token.
  if (!config.auth || !getToken() || !page) return;
  setToken(null);
  showLogin("The server refused the token; sign in again.");
});
signOut.addEventListener("click", () => {
  setToken(null);
  showLogin();
});
window.addEventListener("popstate", render);
render();
