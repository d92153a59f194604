// The query API client: JSON in and out, the bearer token (when the server needs one) from
// sessionStorage, errors as ApiError carrying the API's error body.

const TOKEN_KEY = "traceglass.token";
const PREFIX = "/api/v1";
// Traces are fetched with attribute values cut to this many characters; a span's whole values are
// fetched when it is selected (GET /traces/{id}/spans/{span_id}).
export const MAX_VALUE_LENGTH = 4000;

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.error) || {};
    // Validation refusals (422) come in FastAPI's own form: a list of problems, each with its field.
    const problems = body && Array.isArray(body.detail) ? body.detail.filter((p) => p && p.msg).map((p) => {
      const field = Array.isArray(p.loc) ? p.loc.filter((part) => typeof part === "string").pop() : null;
      return field && field !== "body" ? `${field}: ${p.msg}` : p.msg;
    }) : [];
    super(detail.message || problems.join("; ") || `The server answered ${status}`);
    this.status = status;
    this.code = detail.code || null;
    this.detail = detail;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// apiFetch("/traces?experiment_id=1") or apiFetch("/api/v1/traces"); `body` is sent as JSON.
export async function apiFetch(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const url = path.startsWith(`${PREFIX}/`) ? path : PREFIX + path;
  const response = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("traceglass:unauthorized"));
    throw error;
  }
  return data;
}

export function segment(value) {
  return encodeURIComponent(value);
}
