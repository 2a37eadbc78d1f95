// Browser storage for the session id and the outgoing queue, shared by every tab of the shop.
// localStorage can be missing or throw (private modes, quotas): fall back to memory.

const memory = new Map();

function store() {
  try {
    const probe = "kefu:probe";
    window.localStorage.setItem(probe, "1");
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch (error) {
    return null;
  }
}

export class Storage {
  constructor(namespace) {
    this.prefix = `kefu:${namespace}:`;
    this.backend = store();
  }

  get(key) {
    const full = this.prefix + key;
    try {
      return this.backend ? this.backend.getItem(full) : memory.get(full) ?? null;
    } catch (error) {
      return memory.get(full) ?? null;
    }
  }

  set(key, value) {
    const full = this.prefix + key;
    memory.set(full, value);
    try {
      if (this.backend) this.backend.setItem(full, value);
    } catch (error) {
      // quota or privacy mode: memory keeps it for this page
    }
  }

  remove(key) {
    const full = this.prefix + key;
    memory.delete(full);
    try {
      if (this.backend) this.backend.removeItem(full);
    } catch (error) {
      // ignore
    }
  }

  getJSON(key, fallback) {
    const raw = this.get(key);
    if (!raw) return fallback;
    try {
      return JSON.parse(raw);
    } catch (error) {
      return fallback;
    }
  }

  setJSON(key, value) {
    this.set(key, JSON.stringify(value));
  }
}

/** 128 random bits as hex; works outside secure contexts (unlike crypto.randomUUID). */
export function randomId(prefix = "") {
  const bytes = new Uint8Array(16);
  (window.crypto || window.msCrypto).getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
