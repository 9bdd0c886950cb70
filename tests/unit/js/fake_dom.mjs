// A minimal document for the page's feature modules under node (no npm dependency): elements
// with attributes, dataset, children, text, events, focus and the few selectors the page uses
// ("input", "button", ".class", "#id", "[attr]"). Not a test file: *.test.mjs files import it.

function camel(name) {
  return name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

function matches(node, selector) {
  if (selector.startsWith('.')) return node.className.split(/\s+/).includes(selector.slice(1));
  if (selector.startsWith('#')) return node.id === selector.slice(1);
  if (selector.startsWith('[')) return node.hasAttribute(selector.slice(1, -1));
  return node.tagName === selector.toUpperCase();
}

export class FakeElement {
  constructor(document, tag) {
    this.ownerDocument = document;
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.dataset = {};
    this.children = [];
    this.parentNode = null;
    this.listeners = new Map();
    this.className = '';
    this.hidden = false;
    this.disabled = false;
    this.value = '';
    this.style = {};
    this.ownText = '';
    const classes = () => this.className.split(/\s+/).filter(Boolean);
    this.classList = {
      contains: (name) => classes().includes(name),
      add: (name) => this.classList.toggle(name, true),
      toggle: (name, on = !classes().includes(name)) => {
        const rest = classes().filter((c) => c !== name);
        this.className = (on ? [...rest, name] : rest).join(' ');
        return on;
      },
    };
  }

  get id() {
    return this.getAttribute('id') || '';
  }

  get name() {
    return this.getAttribute('name') || '';
  }

  setAttribute(name, value) {
    const text = String(value);
    this.attributes.set(name, text);
    if (name.startsWith('data-')) this.dataset[camel(name.slice(5))] = text;
    if (name === 'hidden') this.hidden = true;
    if (name === 'disabled') this.disabled = true;
  }

  getAttribute(name) {
    if (name.startsWith('data-')) {
      const value = this.dataset[camel(name.slice(5))];
      return value === undefined ? null : value;
    }
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  hasAttribute(name) {
    return this.getAttribute(name) !== null;
  }

  get textContent() {
    return this.ownText + this.children.map((child) => child.textContent).join('');
  }

  set textContent(value) {
    for (const child of this.children) child.parentNode = null;
    this.children = [];
    this.ownText = String(value);
  }

  append(...nodes) {
    for (const node of nodes) {
      if (typeof node === 'string') {
        this.ownText += node;
        continue;
      }
      if (node.parentNode) node.remove();
      node.parentNode = this;
      this.children.push(node);
    }
  }

  prepend(...nodes) {
    const rest = this.children;
    this.children = [];
    this.append(...nodes);
    this.children.push(...rest.filter((node) => !this.children.includes(node)));
  }

  replaceChildren(...nodes) {
    this.textContent = '';
    this.append(...nodes);
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.children;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }

  get nextElementSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.children;
    return siblings[siblings.indexOf(this) + 1] || null;
  }

  get previousElementSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.children;
    return siblings[siblings.indexOf(this) - 1] || null;
  }

  querySelectorAll(selector) {
    const found = [];
    const walk = (node) => {
      for (const child of node.children) {
        if (matches(child, selector)) found.push(child);
        walk(child);
      }
    };
    walk(this);
    return found;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  }

  /** A form's controls by name (HTMLFormElement.elements). */
  get elements() {
    return { namedItem: (name) => this.querySelectorAll('input').find((input) => input.name === name) || null };
  }

  /** A form's reset(): every input is emptied. */
  reset() {
    for (const input of this.querySelectorAll('input')) input.value = '';
  }

  addEventListener(type, listener, { once = false } = {}) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push({ listener, once });
  }

  removeEventListener(type, listener) {
    const list = this.listeners.get(type) || [];
    this.listeners.set(
      type,
      list.filter((entry) => entry.listener !== listener),
    );
  }

  /** Call the listeners of event.type; returns the event (see fakeEvent). */
  dispatchEvent(event) {
    for (const entry of [...(this.listeners.get(event.type) || [])]) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      entry.listener(event);
    }
    return event;
  }

  click() {
    if (!this.disabled) this.dispatchEvent(fakeEvent('click'));
  }

  focus() {
    this.ownerDocument.activeElement = this;
  }
}

/** An event with preventDefault() that records whether it was called. */
export function fakeEvent(type, fields = {}) {
  const event = { type, defaultPrevented: false, ...fields };
  event.preventDefault = () => {
    event.defaultPrevented = true;
  };
  return event;
}

export class FakeDocument {
  constructor() {
    this.activeElement = null;
    this.body = new FakeElement(this, 'body');
    this.documentElement = new FakeElement(this, 'html');
    this.listeners = new FakeElement(this, '#document');
  }

  createElement(tag) {
    return new FakeElement(this, tag);
  }

  getElementById(id) {
    return this.body.querySelector(`#${id}`);
  }

  querySelectorAll(selector) {
    return this.body.querySelectorAll(selector);
  }

  addEventListener(...args) {
    this.listeners.addEventListener(...args);
  }

  dispatchEvent(event) {
    return this.listeners.dispatchEvent(event);
  }
}

/** Install a fresh FakeDocument as globalThis.document (ui.js creates elements through it). */
export function installDocument() {
  const document = new FakeDocument();
  globalThis.document = document;
  return document;
}

/** An element (with attributes and children) in the given document, for building a page. */
export function element(document, tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Resolve once every promise callback and timer of 0 ms queued so far has run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Let pending promise callbacks run until predicate() holds (no timers, no wall clock). */
export async function until(predicate, what = 'the condition') {
  for (let turn = 0; turn < 500; turn += 1) {
    if (predicate()) return;
    await settle();
  }
  throw new Error(`never happened: ${what}`);
}
